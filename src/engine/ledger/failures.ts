import { sql } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import { runIsGone } from '../lock.js'
import type { Db } from './db.js'
import type { RunStatus } from './table.js'

/** What failed and has not been made good since: `etl retry`, `etl check`. */

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

export interface Failure {
  readonly id: string
  readonly job_name: string
  readonly target: IsoDate | null
  readonly status: RunStatus
  readonly error_message: string | null
  readonly started_at: Date
}

/**
 * FAILED or PARTIAL attempts started at or after `since` whose pair has no SUCCESS after them,
 * newest first: every such attempt, so a caller can count them per pair.
 */
export async function recentFailures(db: Db, since: Date): Promise<Failure[]> {
  const { rows } = await sql<Failure>`
    select r.id, r.job_name, r.target_date::text as target, r.status, r.error_message, r.started_at
    from etl_job_runs r
    where r.status in ('FAILED', 'PARTIAL') and r.started_at >= ${since}
      and not exists (
        select 1 from etl_job_runs s
        where s.job_name = r.job_name and s.target_date is not distinct from r.target_date
          and s.status = 'SUCCESS' and s.started_at > r.started_at)
    order by r.started_at desc, r.id`.execute(db)
  return rows
}

export interface GoneRun {
  readonly id: string
  readonly job_name: string
  readonly target: IsoDate | null
  readonly started_at: Date
  readonly host: string | null
  readonly pid: number | null
}

/**
 * Stale RUNNING rows: their run is gone, nothing holds their lock (read from pg_locks, never by
 * taking it, which could make a run starting at that moment skip). Oldest first. Read-only: the
 * next run of the pair, or a backfill over it, records them FAILED (`abandonRunning`,
 * `abandonGoneRuns`).
 */
export async function goneRuns(db: Db): Promise<GoneRun[]> {
  const { rows } = await sql<GoneRun>`
    select r.id, r.job_name, to_char(r.target_date, 'YYYY-MM-DD') as target, r.started_at, r.host, r.pid
    from etl_job_runs r
    where r.status = 'RUNNING' and ${runIsGone}
    order by r.started_at, r.id`.execute(db)
  return rows
}
