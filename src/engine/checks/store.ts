import { sql, type Kysely } from 'kysely'
import type { CheckResult, CheckStatus } from './run.js'

/**
 * `etl_check_results`, one function per statement: a run's check results, written in its
 * transaction when it commits and after its rollback when a check stopped it.
 */
export async function saveCheckResults(
  db: Kysely<any>,
  run: { runId: string; job: string; target: string | null },
  mode: 'run',
  results: readonly CheckResult[],
): Promise<void> {
  if (results.length === 0) return
  const values = results.map((r) => ({
    run_id: run.runId,
    job_name: run.job,
    target_date: run.target,
    check_name: r.name,
    check_type: r.type,
    severity: r.severity,
    status: r.status,
    failing_rows: r.failingRows,
    sample: JSON.stringify(r.sample),
    message: r.message,
    duration_ms: r.durationMs,
    mode,
  }))
  await db.insertInto('etl_check_results').values(values).execute()
}

export interface StoredCheckResult {
  run_id: string
  job_name: string
  target_date: string | null
  check_name: string
  check_type: string
  severity: 'error' | 'warn'
  status: CheckStatus
  failing_rows: number
  sample: string[]
  message: string | null
  duration_ms: number
  checked_at: Date
}

/**
 * The newest result of every (job, partition, check), newest partitions first; optionally only
 * for some jobs, or only those that did not pass since `since`.
 */
export async function latestCheckResults(
  db: Kysely<any>,
  options: { jobs?: readonly string[]; since?: Date; notPassing?: boolean; limit?: number } = {},
): Promise<StoredCheckResult[]> {
  const jobs = options.jobs?.length ? sql`and job_name in (${sql.join(options.jobs)})` : sql``
  const since = options.since ? sql`and checked_at >= ${options.since}` : sql``
  const { rows } = await sql<StoredCheckResult>`
    select * from (
      select distinct on (job_name, target_date, check_name)
        run_id::text as run_id, job_name, to_char(target_date, 'YYYY-MM-DD') as target_date, check_name, check_type, severity, status,
        failing_rows::int as failing_rows, sample, message, duration_ms, checked_at
      from etl_check_results where true ${jobs} ${since}
      order by job_name, target_date, check_name, checked_at desc, id desc
    ) latest
    where ${options.notPassing ? sql`status <> 'pass'` : sql`true`}
    order by target_date desc nulls last, job_name, check_name
    limit ${options.limit ?? 1000}`.execute(db)
  return rows.map((r) => ({ ...r, sample: typeof r.sample === 'string' ? JSON.parse(r.sample) : r.sample }))
}

/** Counts of the newest result of each check by status, for `/metrics`. */
export async function checkStatusCounts(db: Kysely<any>): Promise<Array<{ job_name: string; check_name: string; status: CheckStatus; failing_rows: number }>> {
  const { rows } = await sql<{ job_name: string; check_name: string; status: CheckStatus; failing_rows: number }>`
    select distinct on (job_name, check_name) job_name, check_name, status, failing_rows::int as failing_rows
    from etl_check_results order by job_name, check_name, checked_at desc, id desc`.execute(db)
  return rows
}
