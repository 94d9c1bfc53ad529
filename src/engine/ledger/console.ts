import { sql } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import { runIsGone } from '../lock.js'
import type { Db } from './db.js'
import type { RunStatus } from './table.js'

/** The run console's reads (src/console/): every attempt of a range, and invocations by run id. */

export interface ConsoleAttempt {
  readonly id: string
  readonly invocation_id: string | null
  readonly job_name: string
  /** The partition's first day, or null for a job without partition. */
  readonly target: IsoDate | null
  /** The day the attempt started, in ETL_TIMEZONE. */
  readonly run_date: IsoDate
  readonly status: RunStatus
  readonly rows_processed: number
  readonly duration_ms: number | null
  readonly error_message: string | null
  readonly started_at: Date
  readonly completed_at: Date | null
  readonly attempt: number
  readonly host: string | null
  readonly pid: number | null
  /** RUNNING, but nothing holds its lock: its process is gone. */
  readonly gone: boolean
}

const ATTEMPT_COLUMNS = sql`r.id, r.invocation_id, r.job_name, to_char(r.target_date, 'YYYY-MM-DD') as target,
  to_char(r.run_date, 'YYYY-MM-DD') as run_date, r.status, r.rows_processed::float8 as rows_processed, r.duration_ms,
  r.error_message, r.started_at, r.completed_at, r.attempt, r.host, r.pid,
  case when r.status = 'RUNNING' then ${runIsGone} else false end as gone`

/**
 * Every attempt whose partition (or, without one, whose run day) falls in `[from, to]`, oldest
 * first: the grid, the job pages and the runs' timelines are folded from it in Node, one query.
 */
export async function attemptsInRange(db: Db, from: IsoDate, to: IsoDate): Promise<ConsoleAttempt[]> {
  const { rows } = await sql<ConsoleAttempt>`
    select ${ATTEMPT_COLUMNS} from etl_job_runs r
    where r.target_date between ${from}::date and ${to}::date
      or (r.target_date is null and r.run_date between ${from}::date and ${to}::date)
    order by r.started_at, r.id`.execute(db)
  return rows.map(numbered)
}

/** The attempts of one job whose partition (or run day) falls in `[from, to]`, oldest first: a job page. */
export async function attemptsOfJob(db: Db, jobName: string, from: IsoDate, to: IsoDate): Promise<ConsoleAttempt[]> {
  const { rows } = await sql<ConsoleAttempt>`
    select ${ATTEMPT_COLUMNS} from etl_job_runs r
    where r.job_name = ${jobName}
      and (r.target_date between ${from}::date and ${to}::date or (r.target_date is null and r.run_date between ${from}::date and ${to}::date))
    order by r.started_at, r.id`.execute(db)
  return rows.map(numbered)
}

/** The attempts of one invocation (a command's run id), oldest first; empty when there is none. */
export async function attemptsOfInvocation(db: Db, invocationId: string): Promise<ConsoleAttempt[]> {
  return attemptsOfInvocations(db, [invocationId])
}

/** The attempts of these invocations, oldest first. */
export async function attemptsOfInvocations(db: Db, invocationIds: readonly string[]): Promise<ConsoleAttempt[]> {
  if (invocationIds.length === 0) return []
  const { rows } = await sql<ConsoleAttempt>`
    select ${ATTEMPT_COLUMNS} from etl_job_runs r
    where r.invocation_id in (${sql.join(invocationIds.map((id) => sql`${id}::uuid`))})
    order by r.started_at, r.id`.execute(db)
  return rows.map(numbered)
}

export interface InvocationSummary {
  readonly invocation_id: string
  readonly started_at: Date
  /** The last completion (or heartbeat) among its rows. */
  readonly ended_at: Date | null
  readonly pairs: number
  readonly jobs: number
  readonly partitions: number
  readonly first_target: IsoDate | null
  readonly last_target: IsoDate | null
  readonly success: number
  readonly failed: number
  readonly partial: number
  readonly skipped: number
  readonly running: number
  /** Rows whose pair's attempt before them (by any command) had FAILED or was PARTIAL: what a retry does. */
  readonly retried: number
  readonly rows_processed: number
  readonly via: string | null
  /** The CLI command recorded with its runs (`etl backfill`); null for rows from before it was recorded, or library use. */
  readonly made_by: string | null
}

/** Invocations (one per run id), newest first. */
export async function recentInvocations(db: Db, limit: number): Promise<InvocationSummary[]> {
  const { rows } = await sql<InvocationSummary>`
    select r.invocation_id::text as invocation_id, min(r.started_at) as started_at,
      max(coalesce(r.completed_at, r.heartbeat_at)) as ended_at,
      count(*)::int as pairs, count(distinct r.job_name)::int as jobs, count(distinct r.target_date)::int as partitions,
      to_char(min(r.target_date), 'YYYY-MM-DD') as first_target, to_char(max(r.target_date), 'YYYY-MM-DD') as last_target,
      (count(*) filter (where r.status = 'SUCCESS'))::int as success,
      (count(*) filter (where r.status = 'FAILED'))::int as failed,
      (count(*) filter (where r.status = 'PARTIAL'))::int as partial,
      (count(*) filter (where r.status = 'SKIPPED'))::int as skipped,
      (count(*) filter (where r.status = 'RUNNING'))::int as running,
      (count(*) filter (where r.status <> 'SKIPPED' and (
        select p.status from etl_job_runs p
        where p.job_name = r.job_name and p.target_date is not distinct from r.target_date
          and p.started_at < r.started_at and p.status <> 'SKIPPED'
        order by p.started_at desc limit 1) in ('FAILED', 'PARTIAL')))::int as retried,
      coalesce(sum(r.rows_processed), 0)::float8 as rows_processed,
      max(r.parameters->>'via') as via,
      max(r.parameters->>'command') as made_by
    from etl_job_runs r
    where r.invocation_id in (
      select invocation_id from etl_job_runs where invocation_id is not null
      group by invocation_id order by max(started_at) desc limit ${limit})
    group by r.invocation_id
    order by min(r.started_at) desc`.execute(db)
  return rows.map((r) => ({ ...r, rows_processed: Number(r.rows_processed) }))
}

const numbered = (r: ConsoleAttempt): ConsoleAttempt => ({ ...r, rows_processed: Number(r.rows_processed) })
