import type { ConsoleAttempt } from '../../engine/ledger/index.js'
import { CHECK_DEFAULTS, median } from '../../ops/check.js'

/**
 * A job's rows and duration per partition, from the newest SUCCESS of each, with the band
 * `etl check` alerts outside of: the median of the partitions before (CHECK_DEFAULTS.runs of
 * them) and minRatio × that median, under which it reports a drop.
 */
export interface JobSeries {
  /** Partition (or run day) as seconds since the epoch, UTC midnight: uPlot's x axis. */
  readonly x: number[]
  readonly rows: number[]
  readonly durationMs: number[]
  readonly median: Array<number | null>
  readonly floor: Array<number | null>
}

export function jobSeries(attempts: readonly ConsoleAttempt[]): JobSeries {
  const latest = new Map<string, ConsoleAttempt>()
  for (const a of attempts) if (a.status === 'SUCCESS') latest.set(a.target ?? a.run_date, a)
  const days = [...latest.keys()].sort()
  const out = { x: [] as number[], rows: [] as number[], durationMs: [] as number[], median: [] as Array<number | null>, floor: [] as Array<number | null> }
  days.forEach((day, i) => {
    const a = latest.get(day)!
    out.x.push(Date.parse(`${day}T00:00:00Z`) / 1000)
    out.rows.push(a.rows_processed)
    out.durationMs.push(a.duration_ms ?? 0)
    const before = days.slice(Math.max(0, i - CHECK_DEFAULTS.runs), i).map((d) => latest.get(d)!.rows_processed)
    const m = before.length >= 3 ? median(before) : null
    out.median.push(m)
    out.floor.push(m === null ? null : m * CHECK_DEFAULTS.minRatio)
  })
  return out
}
