import os from 'node:os'
import { sql, type Kysely } from 'kysely'
import type { RunStatus, WarehouseSchema } from '../../db/schema.js'
import type { IsoDate } from '../../time/calendar.js'
import type { JobResult } from '../job.js'
import { runIsGone } from '../lock.js'

/**
 * `etl_job_runs`, one function per statement. Only the runner and the commands that read the
 * ledger call these; kinds return counts and never touch it.
 */
type Db = Kysely<any>
const ledger = (db: Db) => db as unknown as Kysely<WarehouseSchema>

export interface LedgerRow {
  id: string
  invocation_id: string | null
  job_name: string
  run_date: string
  target_date: string | null
  status: RunStatus
  rows_processed: number
  rows_inserted: number
  rows_updated: number
  rows_deleted: number
  duration_ms: number | null
  error_message: string | null
  started_at: Date
  completed_at: Date | null
  heartbeat_at: Date | null
  attempt: number
  host: string | null
  pid: number | null
  parameters: Record<string, unknown>
  failed_units: unknown[] | null
}

export interface NewRun {
  invocationId: string
  jobName: string
  runDate: IsoDate
  targetDate: IsoDate | null
  status: RunStatus
  startedAt: Date
  attempt?: number
  parameters?: Record<string, unknown>
  errorMessage?: string | null
  completedAt?: Date | null
  durationMs?: number | null
}

export async function insertRun(db: Db, run: NewRun): Promise<string> {
  const row = await ledger(db)
    .insertInto('etl_job_runs')
    .values({
      invocation_id: run.invocationId,
      job_name: run.jobName,
      run_date: run.runDate,
      target_date: run.targetDate,
      status: run.status,
      started_at: run.startedAt,
      heartbeat_at: run.startedAt,
      completed_at: run.completedAt ?? null,
      duration_ms: run.durationMs ?? null,
      error_message: run.errorMessage ?? null,
      attempt: run.attempt ?? 1,
      host: os.hostname(),
      pid: process.pid,
      parameters: JSON.stringify(run.parameters ?? {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export async function finishRun(
  db: Db,
  id: string,
  status: RunStatus,
  result: JobResult,
  fields: { errorMessage: string | null; durationMs: number; completedAt: Date },
): Promise<void> {
  await ledger(db)
    .updateTable('etl_job_runs')
    .set({
      status,
      rows_processed: result.rowsProcessed ?? 0,
      rows_inserted: result.rowsInserted ?? 0,
      rows_updated: result.rowsUpdated ?? 0,
      rows_deleted: result.rowsDeleted ?? 0,
      failed_units: result.failedUnits?.length ? JSON.stringify(result.failedUnits) : null,
      error_message: fields.errorMessage,
      duration_ms: fields.durationMs,
      completed_at: fields.completedAt,
      heartbeat_at: fields.completedAt,
    })
    .where('id', '=', id)
    .execute()
}

const samePartition = (jobName: string, target: IsoDate | null) =>
  sql<boolean>`job_name = ${jobName} and target_date is not distinct from ${target}::date`

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

/**
 * RUNNING rows of a partition whose lock the caller now holds belong to processes that died:
 * they become FAILED so they block nothing and show up in `etl check`.
 */
export async function abandonRunning(db: Db, jobName: string, target: IsoDate | null, now: Date): Promise<number> {
  const result = await ledger(db)
    .updateTable('etl_job_runs')
    .set({ status: 'FAILED', completed_at: now, error_message: ABANDONED })
    .where(samePartition(jobName, target))
    .where('status', '=', 'RUNNING')
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

const ABANDONED = sql<string>`'abandoned: the process (' || coalesce(host, '?') || ' pid ' || coalesce(pid::text, '?') || ') ended without finishing; a later run took over'`

/**
 * RUNNING rows of these jobs in the range whose run is gone (nothing holds their lock) become
 * FAILED, also on pairs that are SUCCESS from an earlier run, which a backfill leaves alone.
 * Nobody can start such a pair in between: a run takes the lock before it writes RUNNING.
 */
export async function abandonGoneRuns(db: Db, jobNames: string[], from: IsoDate, to: IsoDate, now: Date): Promise<number> {
  if (jobNames.length === 0) return 0
  const result = await sql`
    update etl_job_runs r set status = 'FAILED', completed_at = ${now}, error_message = ${ABANDONED}
    where r.status = 'RUNNING' and r.job_name in (${sql.join(jobNames)})
      and coalesce(r.target_date, r.run_date) between ${from}::date and ${to}::date
      and ${runIsGone}`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}

export async function countAttempts(db: Db, jobName: string, target: IsoDate | null): Promise<number> {
  const row = await ledger(db)
    .selectFrom('etl_job_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(samePartition(jobName, target))
    .where('status', 'in', ['SUCCESS', 'FAILED', 'PARTIAL', 'RUNNING'])
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function recentRuns(db: Db, options: { jobName?: string; limit: number }): Promise<LedgerRow[]> {
  let query = ledger(db).selectFrom('etl_job_runs').selectAll()
  if (options.jobName) query = query.where('job_name', '=', options.jobName)
  return (await query.orderBy('started_at', 'desc').orderBy('id').limit(options.limit).execute()) as LedgerRow[]
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

/**
 * Partitions of a job, started in `[from, before)`, built before one of its dependencies was
 * built again for a day of the same period: they hold numbers their inputs no longer have. Each
 * with the dependency rebuilt last. Partitions never built are missing, not stale: not listed.
 */
export async function rebuiltUpstream(
  db: Db,
  job: { name: string; partition: 'day' | 'week' | 'month' },
  dependsOn: readonly string[],
  from: IsoDate,
  before: IsoDate,
): Promise<Array<{ target: IsoDate; upstream: string }>> {
  if (dependsOn.length === 0) return []
  const samePeriod = {
    day: sql`u.target_date = j.target_date`,
    week: sql`u.target_date >= j.target_date and u.target_date < j.target_date + 7`,
    month: sql`u.target_date >= j.target_date and u.target_date < (j.target_date + interval '1 month')::date`,
  }[job.partition]
  const { rows } = await sql<{ target: IsoDate; upstream: string }>`
    select j.target_date::text as target, (array_agg(u.job_name order by u.started_at desc))[1] as upstream
    from (
      select target_date, max(started_at) as built from etl_job_runs
      where job_name = ${job.name} and status = 'SUCCESS' and target_date >= ${from}::date and target_date < ${before}::date
      group by target_date
    ) j
    join etl_job_runs u on u.job_name in (${sql.join([...dependsOn])}) and u.status = 'SUCCESS' and ${samePeriod} and u.started_at > j.built
    group by j.target_date
    order by j.target_date`.execute(db)
  return rows
}

export const pairKey = (jobName: string, target: string | null) => `${jobName}@${target ?? ''}`

export interface FailedPair {
  jobName: string
  targetDate: string | null
  parameters: Record<string, unknown>
}

/**
 * The FAILED/PARTIAL (job, target) pairs of one command (by invocation id) or one ledger row (by
 * row id), each with its newest failed attempt's parameters; a pair with a SUCCESS after that
 * attempt is left out (a retry may be forced, and must not redo what is fine now).
 */
export async function failedPairsOfRun(db: Db, runId: string): Promise<{ found: boolean; pairs: FailedPair[] }> {
  const { rows } = await sql<{ job_name: string | null; target_date: string | null; parameters: Record<string, unknown> | null }>`
    with mine as (
      select * from etl_job_runs where id = ${runId}::uuid or invocation_id = ${runId}::uuid
    ), latest as (
      select distinct on (job_name, target_date) id, job_name, target_date, parameters, started_at
      from mine where status in ('FAILED', 'PARTIAL')
      order by job_name, target_date, started_at desc
    )
    select l.job_name, l.target_date, l.parameters from latest l
    where not exists (
      select 1 from etl_job_runs s
      where s.job_name = l.job_name and s.target_date is not distinct from l.target_date
        and s.status = 'SUCCESS' and s.started_at > l.started_at)
    union all
    -- one row without a job when the id exists at all, so "no such run" is told apart
    select null, null, null where exists (select 1 from mine)
    order by 2 nulls first, 1`.execute(db)
  const pairs = rows.filter((r) => r.job_name !== null).map((r) => ({ jobName: r.job_name!, targetDate: r.target_date, parameters: r.parameters ?? {} }))
  return { found: rows.length > 0, pairs }
}

/**
 * Pairs whose latest finished attempt in the range is FAILED or PARTIAL. A partition is in range
 * by its target date; a job without partition by the date it was asked to run for (`etl run
 * --date D` runs the dimension syncs too) or, without one, the day it ran.
 */
export async function failedPairsInRange(db: Db, from: IsoDate, to: IsoDate): Promise<FailedPair[]> {
  const rows = await sql<{ job_name: string; target_date: string | null; status: RunStatus; parameters: Record<string, unknown> }>`
    select job_name, target_date, status, parameters from (
      select distinct on (job_name, target_date) job_name, target_date, status, parameters
      from etl_job_runs
      where status in ('SUCCESS', 'FAILED', 'PARTIAL')
        and (target_date between ${from}::date and ${to}::date
          or (target_date is null and (run_date between ${from}::date and ${to}::date
            or (case when parameters->>'date' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then (parameters->>'date')::date end) between ${from}::date and ${to}::date)))
      order by job_name, target_date, started_at desc
    ) latest
    where status in ('FAILED', 'PARTIAL')
    order by target_date nulls first, job_name`.execute(db)
  return rows.rows.map((r) => ({ jobName: r.job_name, targetDate: r.target_date, parameters: r.parameters }))
}
