import type { IsoDate } from '../../time/calendar.js'
import type { Db } from './db.js'
import { findSuccess, latestAttempt, latestSuccessTarget, successDays, type Attempt } from './read.js'

/**
 * The ledger facts a job's work may read, on `ctx.ledger` (through the run's transaction). Read
 * only: the runner alone writes the ledger.
 *
 * @example
 * const day = await ctx.ledger.latestSuccessTarget('build_fact_sessions') // '2025-01-14' or null
 */
export interface LedgerReader {
  /** The newest SUCCESS row of a partition (null target: a job without partition), if any. */
  findSuccess(jobName: string, target: IsoDate | null): Promise<{ id: string; started_at: Date } | undefined>
  /** The newest attempt of a partition (SKIPPED rows are not attempts), if any. */
  latestAttempt(jobName: string, target: IsoDate | null): Promise<Attempt | undefined>
  /** The days of `[from, to)` on which a daily job is SUCCESS, in order. */
  successDays(jobName: string, from: IsoDate, to: IsoDate): Promise<IsoDate[]>
  /** The newest partition of a job that is SUCCESS, or null. */
  latestSuccessTarget(jobName: string): Promise<IsoDate | null>
}

export function ledgerReader(db: Db): LedgerReader {
  return {
    findSuccess: (jobName, target) => findSuccess(db, jobName, target),
    latestAttempt: (jobName, target) => latestAttempt(db, jobName, target),
    successDays: (jobName, from, to) => successDays(db, jobName, from, to),
    latestSuccessTarget: (jobName) => latestSuccessTarget(db, jobName),
  }
}
