import os from 'node:os'
import { sql } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import type { JobResult } from '../job.js'
import { runIsGone } from '../lock.js'
import { ledger, samePartition, type Db } from './db.js'
import type { RunStatus } from './table.js'

/**
 * The ledger's write API, one function per statement. Only the runner (and a backfill taking
 * over dead runs) calls these; kinds return counts and never write the ledger.
 */
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
