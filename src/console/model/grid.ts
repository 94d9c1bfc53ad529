import type { RegisteredJob } from '../../engine/job.js'
import type { ConsoleAttempt } from '../../engine/ledger/index.js'
import { addDays, dateRange, nextPeriodStart, periodStart, type IsoDate } from '../../time/calendar.js'

/**
 * The Partitions grid: one row per job, one cell per partition (a day, a week or a month, which
 * spans its days), coloured by the latest state. A job without partition gets one cell over the
 * range: its latest run. Folded in Node from one query of the range's attempts.
 */
export type CellState = 'SUCCESS' | 'FAILED' | 'PARTIAL' | 'SKIPPED' | 'RUNNING' | 'GONE' | 'NEVER' | 'STALE'

export const STATE_WORDS: Record<CellState, string> = {
  SUCCESS: 'success',
  FAILED: 'failed',
  PARTIAL: 'partial',
  SKIPPED: 'skipped',
  RUNNING: 'running',
  GONE: 'running, process gone',
  NEVER: 'never run',
  STALE: 'stale: an upstream partition was rebuilt after it',
}

export interface Cell {
  /** First day of the partition (or the run day for a job without partition). */
  readonly start: IsoDate
  /** How many days of the range it spans (a week: up to 7). */
  readonly span: number
  readonly state: CellState
  /** Oldest first. */
  readonly attempts: readonly ConsoleAttempt[]
  /** The upstream job rebuilt after it, when STALE. */
  readonly staleBecause?: string
  /** The partition due by the job's deadline, past it and not SUCCESS (what `etl check` calls late). */
  readonly late?: boolean
}

export interface GridRow {
  readonly job: RegisteredJob
  readonly cells: readonly Cell[]
}

/** The latest state of a partition: its newest attempt that did work, SKIPPED if only skips, RUNNING split by whether its process lives. */
export function latestState(attempts: readonly ConsoleAttempt[]): CellState {
  if (attempts.length === 0) return 'NEVER'
  const worked = attempts.filter((a) => a.status !== 'SKIPPED')
  const last = worked.at(-1) ?? attempts.at(-1)!
  if (last.status === 'RUNNING') return last.gone ? 'GONE' : 'RUNNING'
  return last.status
}

export function buildGrid(
  jobs: readonly RegisteredJob[],
  attempts: readonly ConsoleAttempt[],
  range: { from: IsoDate; to: IsoDate },
  stale: ReadonlyMap<string, ReadonlyMap<IsoDate, string>>,
  due: ReadonlyMap<string, IsoDate | null>,
): GridRow[] {
  const byJob = new Map<string, Map<IsoDate, ConsoleAttempt[]>>()
  const unpartitioned = new Map<string, ConsoleAttempt[]>()
  for (const a of attempts) {
    if (a.target === null) {
      unpartitioned.set(a.job_name, [...(unpartitioned.get(a.job_name) ?? []), a])
      continue
    }
    const key = a.target
    let m = byJob.get(a.job_name)
    if (!m) byJob.set(a.job_name, (m = new Map()))
    let list = m.get(key)
    if (!list) m.set(key, (list = []))
    list.push(a)
  }
  const days = dateRange(range.from, range.to).length
  const rows = jobs.map((job): GridRow => {
    if (job.partition === 'none') {
      // one cell over the range: its latest run, whenever that was (it runs for no day)
      const list = unpartitioned.get(job.name) ?? []
      return { job, cells: [{ start: range.from, span: days, state: latestState(list), attempts: list }] }
    }
    const mine = byJob.get(job.name) ?? new Map<IsoDate, ConsoleAttempt[]>()
    const cells: Cell[] = []
    for (const start of partitionsOf(job, range)) {
      const list = mine.get(start) ?? []
      const end = job.partition === 'day' ? addDays(start, 1) : nextPeriodStart(start, job.partition)
      const first = start < range.from ? range.from : start
      const last = addDays(end, -1) > range.to ? range.to : addDays(end, -1)
      const span = dateRange(first, last).length
      let state = latestState(list)
      const because = stale.get(job.name)?.get(start)
      if (state === 'SUCCESS' && because) state = 'STALE'
      // as `etl check`: the partition due by the deadline, when it is not SUCCESS
      const late = due.get(job.name) === start && state !== 'SUCCESS' && state !== 'STALE'
      cells.push({ start, span, state, attempts: list, ...(state === 'STALE' ? { staleBecause: because } : {}), ...(late ? { late } : {}) })
    }
    return { job, cells }
  })
  // jobs that ran first, partitioned before unpartitioned, then the registry's order
  const rank = (r: GridRow) => (r.cells.every((c) => c.state === 'NEVER') ? 2 : r.job.partition === 'none' ? 1 : 0)
  return rows.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i).map(({ r }) => r)
}

/** The partitions of a job that touch `[from, to]`, in order (a week that starts before `from` too). */
export function partitionsOf(job: RegisteredJob, range: { from: IsoDate; to: IsoDate }): IsoDate[] {
  if (job.partition === 'day' || job.partition === 'none') return dateRange(range.from, range.to)
  const out: IsoDate[] = []
  for (let p = periodStart(range.from, job.partition); p <= range.to; p = nextPeriodStart(p, job.partition)) out.push(p)
  return out
}
