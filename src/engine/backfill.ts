import pLimit from 'p-limit'
import { addDays, dateRange, periodStart, type IsoDate } from '../time/calendar.js'
import type { RegisteredJob } from './job.js'
import { pairKey, successfulPairs } from './ledger.js'
import { assertRunnable, type RunEnv, type RunOutcome } from './runner.js'
import { runSequence } from './sequence.js'

export interface BackfillOptions {
  from: IsoDate
  to: IsoDate
  jobs: readonly RegisteredJob[]
  concurrency?: number
  force?: boolean
  dryRun?: boolean
  /** Told the number of (job, partition) pairs once planned, then once per finished pair. */
  onPlan?: (plan: BackfillPlan) => void
  onOutcome?: (outcome: RunOutcome) => void
}

export interface BackfillPlan {
  /** Jobs without a partition: run once, before the days. */
  readonly once: readonly RegisteredJob[]
  /** Per day, the dated jobs still to run there, in dependency order. */
  readonly days: ReadonlyArray<{ date: IsoDate; jobs: readonly RegisteredJob[] }>
  /** Pairs already SUCCESS, left alone (without --force). */
  readonly alreadyDone: number
  readonly total: number
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
  options.jobs.forEach(assertRunnable)
  const once = options.jobs.filter((j) => j.partition === 'none')
  const dated = options.jobs.filter((j) => j.partition !== 'none')
  const done = options.force
    ? new Set<string>()
    : // a week or month partition may start up to a month before the range's first day
      await successfulPairs(env.warehouse.db, dated.map((j) => j.name), addDays(days[0]!, -31), days.at(-1)!)

  const lastDayOf = new Map<string, IsoDate>() // job@target → the range's last day in that partition
  for (const job of dated) {
    for (const day of days) lastDayOf.set(pairKey(job.name, periodStart(day, job.partition as 'day')), day)
  }
  let alreadyDone = 0
  const plan = days.map((date) => ({
    date,
    jobs: dated.filter((job) => {
      const key = pairKey(job.name, periodStart(date, job.partition as 'day'))
      if (lastDayOf.get(key) !== date) return false
      if (done.has(key)) {
        alreadyDone++
        return false
      }
      return true
    }),
  }))
  const total = once.length + plan.reduce((n, d) => n + d.jobs.length, 0)
  return { once, days: plan.filter((d) => d.jobs.length > 0), alreadyDone, total }
}

/**
 * Every (job, day) of the range, N days at once (1 on PGlite, which has one session). Within a day
 * jobs run in dependency order; a failed day does not stop the others.
 */
export async function backfill(env: RunEnv, options: BackfillOptions): Promise<BackfillSummary> {
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
  await runSequence(env, plan.once, undefined, sequenceOptions)
  const concurrency = env.warehouse.concurrent ? Math.max(1, options.concurrency ?? 1) : 1
  const limit = pLimit(concurrency)
  await Promise.all(plan.days.map((day) => limit(() => runSequence(env, day.jobs, day.date, sequenceOptions))))
  return { plan, outcomes }
}
