import pLimit from 'p-limit'
import { addDays, dateRange, periodStart, type IsoDate } from '../time/calendar.js'
import { hasEnded } from './ended.js'
import type { RegisteredJob } from './job.js'
import { abandonGoneRuns, pairKey, successfulPairs } from './ledger/index.js'
import type { RunEnv, RunOutcome } from './runner.js'
import { runSequence } from './sequence.js'

export interface BackfillOptions {
  from: IsoDate
  to: IsoDate
  jobs: readonly RegisteredJob[]
  concurrency?: number
  force?: boolean
  dryRun?: boolean
  /** Only this shard's share of the days: `index` of `count` contiguous slices (`etl backfill --shard i/n`). */
  shard?: Shard
  /** Told the number of (job, partition) pairs once planned, then once per finished pair. */
  onPlan?: (plan: BackfillPlan) => void
  onOutcome?: (outcome: RunOutcome) => void
  /** Told before each group of pairs starts: the undated jobs first, each day in turn, the undated jobs after the days. */
  onGroup?: (group: BackfillGroup) => void
}

/** A group of pairs `backfill` runs together: `day` k (from 1) of the `count` days with work, or the undated jobs around them. */
export type BackfillGroup =
  | { readonly phase: 'first' | 'last'; readonly jobs: readonly RegisteredJob[] }
  | { readonly phase: 'day'; readonly date: IsoDate; readonly day: number; readonly count: number; readonly jobs: readonly RegisteredJob[] }

export interface BackfillPlan {
  /** Jobs without a partition: run once, before the days. */
  readonly once: readonly RegisteredJob[]
  /** Jobs without a partition that depend on dated ones (tenant series): run once, after the days. */
  readonly last: readonly RegisteredJob[]
  /** Per day, the dated jobs still to run there, in dependency order. */
  readonly days: ReadonlyArray<{ date: IsoDate; jobs: readonly RegisteredJob[] }>
  /** Pairs already SUCCESS, left alone (without --force). */
  readonly alreadyDone: number
  /** Weeks and months of the range that have not ended yet: never run (see ended.ts). */
  readonly notEnded: ReadonlyArray<{ job: string; partition: string; target: IsoDate }>
  readonly total: number
}

export interface Shard {
  readonly index: number
  readonly count: number
}

/**
 * The days of shard `index` of `count`: contiguous, sizes differing by at most one. Jobs without
 * partition run in shard 0 only.
 */
export function shardDays(days: readonly IsoDate[], shard: Shard): Set<IsoDate> {
  const start = Math.floor((shard.index * days.length) / shard.count)
  const end = Math.floor(((shard.index + 1) * days.length) / shard.count)
  return new Set(days.slice(start, end))
}

export interface BackfillSummary {
  readonly plan: BackfillPlan
  readonly outcomes: readonly RunOutcome[]
}

/**
 * Plans a range: each dated job once per partition in the range (a weekly job on the last day of
 * its week that falls in the range, so its days come first), minus the pairs already SUCCESS.
 */
export async function planBackfill(env: RunEnv, options: BackfillOptions): Promise<BackfillPlan> {
  const days = dateRange(options.from, options.to)
  const mine = options.shard ? shardDays(days, options.shard) : undefined
  const undated = options.jobs.filter((j) => j.partition === 'none' && !(options.shard && options.shard.index > 0))
  const dated = options.jobs.filter((j) => j.partition !== 'none')
  // an undated job that reads what the days build (tenant series after the rollups) runs after them
  const readsDays = dependsOnAny(options.jobs, new Set(dated.map((j) => j.name)))
  const once = undated.filter((j) => !readsDays.has(j.name))
  const last = undated.filter((j) => readsDays.has(j.name))
  const done = options.force
    ? new Set<string>()
    : // a week or month partition may start up to a month before the range's first day
      await successfulPairs(env.warehouse.db, dated.map((j) => j.name), addDays(days[0]!, -31), days.at(-1)!)

  const lastDayOf = new Map<string, IsoDate>() // job@target → the range's last day in that partition
  for (const job of dated) {
    for (const day of days) lastDayOf.set(pairKey(job.name, periodStart(day, job.partition as 'day')), day)
  }
  let alreadyDone = 0
  const notEnded: Array<{ job: string; partition: string; target: IsoDate }> = []
  const now = env.now()
  const plan = days.map((date) => ({
    date,
    jobs: dated.filter((job) => {
      if (mine && !mine.has(date)) return false
      const key = pairKey(job.name, periodStart(date, job.partition as 'day'))
      if (lastDayOf.get(key) !== date) return false
      if (!hasEnded(date, job.partition as 'day', now, env.config.timezone)) {
        notEnded.push({ job: job.name, partition: job.partition, target: periodStart(date, job.partition as 'day') })
        return false
      }
      if (done.has(key)) {
        alreadyDone++
        return false
      }
      return true
    }),
  }))
  const total = once.length + last.length + plan.reduce((n, d) => n + d.jobs.length, 0)
  return { once, days: plan.filter((d) => d.jobs.length > 0), last, alreadyDone, notEnded, total }
}

/** Names of the jobs that depend, directly or through others, on any of `targets`. */
function dependsOnAny(jobs: readonly RegisteredJob[], targets: Set<string>): Set<string> {
  const found = new Set<string>()
  // jobs are in dependency order, so one pass sees every dependency before its dependents
  for (const job of jobs) {
    if (job.dependsOn.some((d) => targets.has(d) || found.has(d))) found.add(job.name)
  }
  return found
}

/**
 * Every (job, day) of the range, N days at once (1 on PGlite, which has one session). Within a day
 * jobs run in dependency order; a failed day does not stop the others.
 */
export async function backfill(env: RunEnv, options: BackfillOptions): Promise<BackfillSummary> {
  // a RUNNING row whose process died is FAILED, also on a pair the plan leaves alone as SUCCESS
  if (!options.dryRun) {
    const names = options.jobs.map((j) => j.name)
    const abandoned = await abandonGoneRuns(env.warehouse.db, names, addDays(options.from, -31), options.to, env.now())
    if (abandoned) env.log.warn({ abandoned }, 'recorded FAILED the RUNNING rows of runs whose process died')
  }
  const plan = await planBackfill(env, options)
  options.onPlan?.(plan)
  const outcomes: RunOutcome[] = []
  const sequenceOptions = {
    force: options.force,
    lookback: false, // every day of the range is built anyway
    dryRun: options.dryRun,
    onOutcome: (o: RunOutcome) => {
      outcomes.push(o)
      options.onOutcome?.(o)
    },
  }
  // an interrupted backfill starts nothing new, and says nothing about starting it
  const group = (g: BackfillGroup) => void (env.interrupt?.aborted || options.onGroup?.(g))
  // undated jobs are told the range, so one that reads the days (the tenant series) can rebuild
  // what ends in it, whether it runs after them or alone (`--jobs populate_tenant_time_series`)
  const range = { from: options.from, to: options.to }
  const undatedOptions = { ...sequenceOptions, requestOf: () => ({ parameters: { backfillRange: range } }) }
  if (plan.once.length) group({ phase: 'first', jobs: plan.once })
  await runSequence(env, plan.once, undefined, undatedOptions)
  const concurrency = env.warehouse.concurrent ? Math.max(1, options.concurrency ?? 1) : 1
  const limit = pLimit(concurrency)
  const count = plan.days.length
  await Promise.all(
    plan.days.map((day, i) =>
      limit(() => {
        group({ phase: 'day', date: day.date, day: i + 1, count, jobs: day.jobs })
        return runSequence(env, day.jobs, day.date, sequenceOptions)
      }),
    ),
  )
  if (plan.last.length) group({ phase: 'last', jobs: plan.last })
  await runSequence(env, plan.last, undefined, undatedOptions)
  return { plan, outcomes }
}
