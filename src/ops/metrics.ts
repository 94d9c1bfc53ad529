import { sql, type Kysely } from 'kysely'
import { checkStatusCounts } from '../engine/checks/store.js'

/**
 * The ledger as Prometheus metrics (text exposition format 0.0.4): runs by job and status, and
 * per job the time, duration and rows of its last SUCCESS, and whether its last finished run
 * failed. Read from `etl_job_runs` on every scrape, so every process's runs count.
 */
export async function prometheusMetrics(db: Kysely<any>): Promise<string> {
  const counts = await sql<{ job_name: string; status: string; n: number }>`
    select job_name, status, count(*)::int as n from etl_job_runs group by job_name, status order by job_name, status`.execute(db)
  const success = await sql<{ job_name: string; at: number; duration_ms: number | null; rows_processed: number }>`
    select distinct on (job_name) job_name, extract(epoch from coalesce(completed_at, started_at))::float8 as at,
      duration_ms, rows_processed::float8 as rows_processed
    from etl_job_runs where status = 'SUCCESS'
    order by job_name, started_at desc`.execute(db)
  const last = await sql<{ job_name: string; status: string }>`
    select distinct on (job_name) job_name, status
    from etl_job_runs where status in ('SUCCESS', 'FAILED', 'PARTIAL')
    order by job_name, started_at desc`.execute(db)

  const out: string[] = []
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`)
  }
  family('etl_job_runs_total', 'counter', 'Ledger rows (etl_job_runs) by job and status.', counts.rows.map((r) => [{ job: r.job_name, status: r.status }, r.n]))
  family('etl_job_last_success_timestamp_seconds', 'gauge', 'When the last SUCCESS run of the job completed, Unix time.', success.rows.map((r) => [{ job: r.job_name }, r.at]))
  family('etl_job_last_success_duration_seconds', 'gauge', 'How long the last SUCCESS run of the job took.', success.rows.map((r) => [{ job: r.job_name }, (r.duration_ms ?? 0) / 1000]))
  family('etl_job_last_success_rows_processed', 'gauge', 'Rows processed by the last SUCCESS run of the job.', success.rows.map((r) => [{ job: r.job_name }, Number(r.rows_processed)]))
  family('etl_job_last_run_failed', 'gauge', '1 when the last finished run of the job was FAILED or PARTIAL, else 0.', last.rows.map((r) => [{ job: r.job_name }, r.status === 'SUCCESS' ? 0 : 1]))
  const checks = await checkStatusCounts(db)
  family('etl_check_passing', 'gauge', 'Data checks (etl_check_results): 1 when the newest result of the check passed, else 0.', checks.map((r) => [{ job: r.job_name, check: r.check_name, status: r.status }, r.status === 'pass' ? 1 : 0]))
  family('etl_check_failing_rows', 'gauge', 'Failing rows in the newest result of the data check.', checks.map((r) => [{ job: r.job_name, check: r.check_name }, Number(r.failing_rows)]))
  return `${out.join('\n')}\n`
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelText = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`
const formatValue = (v: number) => (Number.isFinite(v) ? String(v) : 'NaN')
