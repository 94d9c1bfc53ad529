import { sql, type Kysely } from 'kysely'
import { LEDGER_TABLE } from './table.js'

/**
 * The median of the rows written (inserted + updated) by a job's last `runs` SUCCESS runs,
 * leaving out `exceptRunId` (the run being checked); undefined without history. A `row_count`
 * check with `vsMedian` compares a run's rows with it.
 */
export async function medianRowsWritten(db: Kysely<any>, jobName: string, runs: number, exceptRunId: string | null): Promise<number | undefined> {
  const { rows } = await sql<{ median: string | number | null }>`
    select percentile_cont(0.5) within group (order by written) as median from (
      select rows_inserted + rows_updated as written from ${sql.table(LEDGER_TABLE)}
      where job_name = ${jobName} and status = 'SUCCESS' and id is distinct from ${exceptRunId}::uuid
      order by started_at desc limit ${runs}
    ) recent`.execute(db)
  const median = rows[0]?.median
  return median === null || median === undefined ? undefined : Number(median)
}

/** The newest partition with a SUCCESS row, or undefined; `null` for a job without partition that has one. */
export async function latestSuccessTarget(db: Kysely<any>, jobName: string): Promise<string | null | undefined> {
  const { rows } = await sql<{ target: string | null }>`
    select to_char(target_date, 'YYYY-MM-DD') as target from ${sql.table(LEDGER_TABLE)}
    where job_name = ${jobName} and status = 'SUCCESS'
    order by target_date desc nulls last, started_at desc limit 1`.execute(db)
  return rows.length ? rows[0]!.target : undefined
}

/** Whether a partition has a SUCCESS row: `etl test` checks finished partitions only. */
export async function isFinished(db: Kysely<any>, jobName: string, target: string | null): Promise<boolean> {
  const { rows } = await sql<{ done: boolean }>`
    select exists (select 1 from ${sql.table(LEDGER_TABLE)} where job_name = ${jobName} and target_date is not distinct from ${target}::date and status = 'SUCCESS') as done`.execute(db)
  return Boolean(rows[0]?.done)
}
