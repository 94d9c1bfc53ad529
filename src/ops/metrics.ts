import type { Kysely } from 'kysely'
import { jobStats, LEDGER_TABLE } from '../engine/ledger/index.js'

/**
 * The ledger as Prometheus metrics (text exposition format 0.0.4): runs by job and status, and
 * per job the time, duration and rows of its last SUCCESS, and whether its last finished run
 * failed. Read from the ledger on every scrape, so every process's runs count.
 */
export async function prometheusMetrics(db: Kysely<any>): Promise<string> {
  const stats = await jobStats(db)

  const out: string[] = []
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`)
  }
  // the counter counts the ledger's rows, and is named after its table
  family(`${LEDGER_TABLE}_total`, 'counter', `Ledger rows (${LEDGER_TABLE}) by job and status.`, stats.counts.map((r) => [{ job: r.job_name, status: r.status }, r.n]))
  family('etl_job_last_success_timestamp_seconds', 'gauge', 'When the last SUCCESS run of the job completed, Unix time.', stats.lastSuccess.map((r) => [{ job: r.job_name }, r.at]))
  family('etl_job_last_success_duration_seconds', 'gauge', 'How long the last SUCCESS run of the job took.', stats.lastSuccess.map((r) => [{ job: r.job_name }, (r.duration_ms ?? 0) / 1000]))
  family('etl_job_last_success_rows_processed', 'gauge', 'Rows processed by the last SUCCESS run of the job.', stats.lastSuccess.map((r) => [{ job: r.job_name }, Number(r.rows_processed)]))
  family('etl_job_last_run_failed', 'gauge', '1 when the last finished run of the job was FAILED or PARTIAL, else 0.', stats.lastFinished.map((r) => [{ job: r.job_name }, r.status === 'SUCCESS' ? 0 : 1]))
  return `${out.join('\n')}\n`
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelText = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`
const formatValue = (v: number) => (Number.isFinite(v) ? String(v) : 'NaN')
