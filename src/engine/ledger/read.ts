import { sql } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import { ledger, pairKey, samePartition, type Db } from './db.js'
import type { LedgerRow, RunStatus } from './table.js'

/** Reads of one (job, partition) or of one job's partitions, one function per statement. */

/** The newest SUCCESS row of a partition, if any. */
export async function findSuccess(db: Db, jobName: string, target: IsoDate | null): Promise<{ id: string; started_at: Date } | undefined> {
  return ledger(db)
    .selectFrom('etl_job_runs')
    .select(['id', 'started_at'])
    .where(samePartition(jobName, target))
    .where('status', '=', 'SUCCESS')
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** Whether a partition has a RUNNING row: a read, so that only a row to take over needs a write. */
export async function hasRunning(db: Db, jobName: string, target: IsoDate | null): Promise<boolean> {
  const row = await ledger(db).selectFrom('etl_job_runs').select('id').where(samePartition(jobName, target)).where('status', '=', 'RUNNING').limit(1).executeTakeFirst()
  return row !== undefined
}

/** Attempts of a partition so far (SKIPPED rows did no work and are not attempts). */
export async function countAttempts(db: Db, jobName: string, target: IsoDate | null): Promise<number> {
  const row = await ledger(db)
    .selectFrom('etl_job_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(samePartition(jobName, target))
    .where('status', 'in', ['SUCCESS', 'FAILED', 'PARTIAL', 'RUNNING'])
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export interface Attempt {
  readonly status: RunStatus
  readonly started_at: Date
  readonly error_message: string | null
}

/** The newest attempt of a partition (any status but SKIPPED), if any. */
export async function latestAttempt(db: Db, jobName: string, target: IsoDate | null): Promise<Attempt | undefined> {
  return ledger(db)
    .selectFrom('etl_job_runs')
    .select(['status', 'started_at', 'error_message'])
    .where(samePartition(jobName, target))
    .where('status', '<>', 'SKIPPED')
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** Whether a job without partition has a SUCCESS completed at or after `since`. */
export async function succeededSince(db: Db, jobName: string, since: Date): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from etl_job_runs
    where job_name = ${jobName} and target_date is null and status = 'SUCCESS' and completed_at >= ${since}`.execute(db)
  return rows[0]!.n > 0
}

/** The days of `[from, to)` on which a daily job is SUCCESS, in order. */
export async function successDays(db: Db, jobName: string, from: IsoDate, to: IsoDate): Promise<IsoDate[]> {
  const { rows } = await sql<{ day: IsoDate }>`
    select distinct to_char(target_date, 'YYYY-MM-DD') as day from etl_job_runs
    where job_name = ${jobName} and status = 'SUCCESS' and target_date >= ${from}::date and target_date < ${to}::date
    order by 1`.execute(db)
  return rows.map((r) => r.day)
}

/** The newest partition of a job that is SUCCESS, or null when none is. */
export async function latestSuccessTarget(db: Db, jobName: string): Promise<IsoDate | null> {
  const { rows } = await sql<{ day: IsoDate | null }>`
    select to_char(max(target_date), 'YYYY-MM-DD') as day from etl_job_runs where job_name = ${jobName} and status = 'SUCCESS'`.execute(db)
  return rows[0]?.day ?? null
}

/** (job, target) pairs already SUCCESS among the given jobs and targets: what a backfill can skip. */
export async function successfulPairs(db: Db, jobNames: string[], from: IsoDate, to: IsoDate): Promise<Set<string>> {
  if (jobNames.length === 0) return new Set()
  const rows = await ledger(db)
    .selectFrom('etl_job_runs')
    .select(['job_name', 'target_date'])
    .distinct()
    .where('status', '=', 'SUCCESS')
    .where('job_name', 'in', jobNames)
    .where('target_date', '>=', from)
    .where('target_date', '<=', to)
    .execute()
  return new Set(rows.map((r) => pairKey(r.job_name, r.target_date)))
}

/** The newest rows, of every job or of one: `etl status`, `etl serve`'s /status. */
export async function recentRuns(db: Db, options: { jobName?: string; limit: number }): Promise<LedgerRow[]> {
  let query = ledger(db).selectFrom('etl_job_runs').selectAll()
  if (options.jobName) query = query.where('job_name', '=', options.jobName)
  return query.orderBy('started_at', 'desc').orderBy('id').limit(options.limit).execute()
}

/**
 * The newest SUCCESS of each of a job's partitions, newest partitions first, at most `limit`:
 * the history `etl check` compares the latest partition's rows with.
 */
export async function latestSuccessPerPartition(db: Db, jobName: string, limit: number): Promise<Array<{ target: IsoDate; rows_processed: number }>> {
  const { rows } = await sql<{ target: IsoDate; rows_processed: number }>`
    select target, rows_processed from (
      select distinct on (target_date) target_date::text as target, rows_processed::float8 as rows_processed
      from etl_job_runs
      where job_name = ${jobName} and status = 'SUCCESS' and target_date is not null
      order by target_date desc, started_at desc
    ) latest
    order by target desc
    limit ${limit}`.execute(db)
  return rows.map((r) => ({ target: r.target, rows_processed: Number(r.rows_processed) }))
}
