import { sql, type Kysely } from 'kysely'

/**
 * The median of the rows written (inserted + updated) by a job's last `runs` SUCCESS runs,
 * leaving out `exceptRunId` (the run being checked); undefined without history. A `row_count`
 * check with `vsMedian` compares a run's rows with it.
 */
export async function medianRowsWritten(db: Kysely<any>, jobName: string, runs: number, exceptRunId: string | null): Promise<number | undefined> {
  const { rows } = await sql<{ median: string | number | null }>`
    select percentile_cont(0.5) within group (order by written) as median from (
      select rows_inserted + rows_updated as written from etl_job_runs
      where job_name = ${jobName} and status = 'SUCCESS' and id is distinct from ${exceptRunId}::uuid
      order by started_at desc limit ${runs}
    ) recent`.execute(db)
  const median = rows[0]?.median
  return median === null || median === undefined ? undefined : Number(median)
}
