import { addDays, type IsoDate } from '../../time/calendar.js'

export interface Coverage {
  /** Days of `[from, to)` whose daily job has a SUCCESS row in the ledger. */
  readonly covered: IsoDate[]
  readonly missing: IsoDate[]
}

/**
 * Which days of `[from, to)` the daily rollup finished, given the days it is SUCCESS on (from
 * `ctx.ledger.successDays`): a week or month is complete only when every one of its days is.
 */
export function coverageOf(successDays: readonly IsoDate[], from: IsoDate, to: IsoDate): Coverage {
  const done = new Set(successDays)
  const covered: IsoDate[] = []
  const missing: IsoDate[] = []
  for (let day = from; day < to; day = addDays(day, 1)) (done.has(day) ? covered : missing).push(day)
  return { covered, missing }
}
