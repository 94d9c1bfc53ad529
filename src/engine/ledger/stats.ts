import { sql } from 'kysely'
import type { Db } from './db.js'
import type { RunStatus } from './table.js'

/**
 * Per job, what `etl serve`'s /metrics exposes: rows by status, the last SUCCESS (when it
 * completed, Unix seconds; how long it took; rows processed) and the status of the last finished
 * run (SUCCESS, FAILED or PARTIAL). Three statements, read on every scrape.
 */
export interface JobStats {
  readonly counts: ReadonlyArray<{ job_name: string; status: RunStatus; n: number }>
  readonly lastSuccess: ReadonlyArray<{ job_name: string; at: number; duration_ms: number | null; rows_processed: number }>
  readonly lastFinished: ReadonlyArray<{ job_name: string; status: RunStatus }>
}

export async function jobStats(db: Db): Promise<JobStats> {
  const counts = await sql<{ job_name: string; status: RunStatus; n: number }>`
    select job_name, status, count(*)::int as n from etl_job_runs group by job_name, status order by job_name, status`.execute(db)
  const success = await sql<{ job_name: string; at: number; duration_ms: number | null; rows_processed: number }>`
    select distinct on (job_name) job_name, extract(epoch from coalesce(completed_at, started_at))::float8 as at,
      duration_ms, rows_processed::float8 as rows_processed
    from etl_job_runs where status = 'SUCCESS'
    order by job_name, started_at desc`.execute(db)
  const last = await sql<{ job_name: string; status: RunStatus }>`
    select distinct on (job_name) job_name, status
    from etl_job_runs where status in ('SUCCESS', 'FAILED', 'PARTIAL')
    order by job_name, started_at desc`.execute(db)
  return { counts: counts.rows, lastSuccess: success.rows, lastFinished: last.rows }
}
