import type { Kysely } from 'kysely'
import { closeCache, openCache } from '../../cache/redis.js'
import { cacheStats, type CacheStats } from '../../cache/stats.js'
import type { Config } from '../../config.js'
import type { Logger } from '../../log.js'
import { latestCheckResults, type StoredCheckResult } from '../../engine/checks/store.js'
import { lastEndedDay } from '../../engine/ended.js'
import type { RegisteredJob } from '../../engine/job.js'
import {
  attemptsInRange,
  attemptsOfInvocations,
  attemptsOfJob,
  dailySuccessRate,
  rebuiltUpstream,
  recentInvocations,
  type ConsoleAttempt,
  type DailyRate,
} from '../../engine/ledger/index.js'
import type { JobRegistry } from '../../engine/registry.js'
import { brokenJobAlerts, CHECK_DEFAULTS, duePartition, runChecks, type Alert } from '../../ops/check.js'
import { addDays, dateOf, periodStart, type IsoDate } from '../../time/calendar.js'
import { nextRuns, scheduleInWords } from './cron.js'
import { definitionText } from './definition.js'
import { buildGrid, latestState, type GridRow } from './grid.js'
import { buildLineage, tablesOf, type Freshness, type LineageGraph } from './lineage.js'
import { describeInvocation, type Invocation } from './runs.js'

/**
 * Everything the console's pages show, read once: the pages are pure functions of it, so the
 * live server and the one-file report render the same thing.
 */
export interface JobView {
  readonly job: RegisteredJob
  readonly scheduleWords: string | null
  readonly nextRuns: readonly Date[]
  /** The partition due by the deadline, when the job has one. */
  readonly due: { target: IsoDate | null; dueAt: Date } | null
  readonly sources: readonly string[]
  readonly target: string | null
  readonly definition: string
  readonly freshness: Freshness
}

export interface ConsoleModel {
  readonly generatedAt: Date
  readonly timezone: string
  /** The grid's days, both included. */
  readonly range: { from: IsoDate; to: IsoDate }
  /** First day of the history the job pages chart. */
  readonly historyFrom: IsoDate
  readonly jobs: readonly JobView[]
  readonly grid: readonly GridRow[]
  readonly history: ReadonlyMap<string, readonly ConsoleAttempt[]>
  readonly invocations: readonly Invocation[]
  readonly invocationAttempts: ReadonlyMap<string, readonly ConsoleAttempt[]>
  readonly alerts: readonly Alert[]
  readonly rates: readonly DailyRate[]
  readonly checks: readonly StoredCheckResult[]
  /** null: no Redis configured; a string: Redis set but it did not answer. */
  readonly cache: CacheStats | string | null
  readonly lineage: LineageGraph
}

export interface LoadOptions {
  readonly db: Kysely<any>
  readonly registry: JobRegistry
  readonly now: Date
  readonly timezone: string
  readonly from?: IsoDate
  readonly to?: IsoDate
  /** How many invocations the Runs page lists. */
  readonly invocations?: number
  /** Days of history on the job pages. */
  readonly historyDays?: number
  /** The Health page's cache figures; leave out where there is no Redis or it is not wanted. */
  readonly cache?: () => Promise<CacheStats | string | null>
  /** The page to read for (only its part is read); default: everything, for the report. */
  readonly page?: 'partitions' | 'runs' | 'job' | 'lineage' | 'health' | 'report'
  /** The job page's job. */
  readonly job?: string
}

export const DEFAULT_GRID_DAYS = 30

/**
 * What each page reads: a live page reads only its own part (the grid's days, one job's year,
 * the newest invocations…), the report reads it all. Parts a page does not show stay empty.
 */
export type ConsolePart = 'grid' | 'history' | 'runs' | 'health' | 'freshness'

const PARTS: Record<string, readonly ConsolePart[]> = {
  partitions: ['grid'],
  runs: ['runs'],
  job: ['history', 'health'],
  lineage: ['freshness'],
  health: ['health'],
  report: ['grid', 'history', 'runs', 'health', 'freshness'],
}

export async function loadConsole(options: LoadOptions): Promise<ConsoleModel> {
  const { db, registry, now, timezone } = options
  const parts = new Set(PARTS[options.page ?? 'report'])
  const jobs = registry.jobs
  const to = options.to ?? lastEndedDay('day', now, timezone)
  const from = options.from ?? addDays(to, -(DEFAULT_GRID_DAYS - 1))
  const today = dateOf(now, timezone)
  const until = today > to ? today : to
  const historyFrom = [addDays(to, -((options.historyDays ?? 365) - 1)), from].sort()[0]!
  // the grid's days (and the month before: a month's partition starts before them), a year for
  // the job pages, two months for freshness (a month partition ended and its rebuilds)
  const attempts = parts.has('history')
    ? options.job
      ? await attemptsOfJob(db, options.job, historyFrom, until)
      : await attemptsInRange(db, historyFrom, until)
    : parts.has('grid') || parts.has('freshness')
      ? await attemptsInRange(db, [addDays(from, -31), addDays(until, -62)].sort()[0]!, until)
      : []

  const history = new Map<string, ConsoleAttempt[]>()
  for (const a of attempts) push(history, a.job_name, a)

  const stale = new Map<string, Map<IsoDate, string>>()
  if (parts.has('grid')) {
    for (const job of jobs) {
      if (job.partition === 'none' || job.dependsOn.length === 0) continue
      const rows = await rebuiltUpstream(db, { name: job.name, partition: job.partition }, job.dependsOn, addDays(from, -31), addDays(to, 1))
      stale.set(job.name, new Map(rows.map((r) => [r.target, r.upstream])))
    }
  }
  const views = jobs.map((job) => jobView(job, now, history.get(job.name) ?? []))
  const due = new Map(views.map((v) => [v.job.name, v.due?.target ?? null]))
  // a week or month that starts before `from` still shows: buildGrid picks the partitions it needs
  const grid = parts.has('grid') ? buildGrid(jobs, attempts, { from, to }, stale, due) : []

  const invocations = parts.has('runs') ? (await recentInvocations(db, options.invocations ?? 30)).map(describeInvocation) : []
  const byInvocation = new Map<string, ConsoleAttempt[]>()
  for (const a of await attemptsOfInvocations(db, invocations.map((i) => i.invocation_id))) push(byInvocation, a.invocation_id!, a)
  const health = parts.has('health')
  const alerts = health ? [...brokenJobAlerts(registry), ...(await runChecks(db, jobs, { now, ...CHECK_DEFAULTS }))] : []
  const rates = health ? await dailySuccessRate(db, { now, timezone, days: 14 }) : []
  const checks = health ? await latestCheckResults(db, { since: new Date(now.getTime() - 14 * 86_400_000), limit: 500, ...(options.job ? { jobs: [options.job] } : {}) }) : []
  const lineage = buildLineage(jobs, new Map(views.map((v) => [v.job.name, v.freshness])))
  return {
    generatedAt: now,
    timezone,
    range: { from, to },
    historyFrom,
    jobs: views,
    grid,
    history,
    invocations,
    invocationAttempts: byInvocation,
    alerts,
    rates,
    checks,
    cache: health && options.cache ? await options.cache() : null,
    lineage,
  }
}

function jobView(job: RegisteredJob, now: Date, attempts: readonly ConsoleAttempt[]): JobView {
  const { sources, target } = tablesOf(job)
  return {
    job,
    scheduleWords: job.schedule ? scheduleInWords(job.schedule, job.timezone) : null,
    nextRuns: job.schedule ? nextRuns(job.schedule, job.timezone, now, 5) : [],
    due: job.deadline ? duePartition(job, job.deadline, now) : null,
    sources,
    target,
    definition: definitionText(job.definition),
    freshness: freshnessOf(job, attempts, now),
  }
}

/**
 * Fresh: the latest partition that has ended is SUCCESS (a job without partition: a SUCCESS in
 * the last day). Failed: its newest attempt failed. Behind: anything else that has run.
 */
function freshnessOf(job: RegisteredJob, attempts: readonly ConsoleAttempt[], now: Date): Freshness {
  if (attempts.length === 0) return 'never'
  const state = latestState(attempts)
  if (state === 'FAILED' || state === 'PARTIAL' || state === 'GONE') return 'failed'
  if (job.partition === 'none') {
    const last = attempts.filter((a) => a.status === 'SUCCESS').at(-1)
    return last && now.getTime() - last.started_at.getTime() < 86_400_000 ? 'fresh' : 'behind'
  }
  const expected = periodStart(lastEndedDay(job.partition, now, job.timezone), job.partition)
  const latest = attempts.filter((a) => a.status === 'SUCCESS' && a.target !== null).map((a) => a.target!).sort().at(-1)
  return latest && latest >= expected ? 'fresh' : 'behind'
}

/** The cache's figures when REDIS_URL is set: a connection of its own, closed after; why not, when Redis does not answer. */
export async function readCacheStats(config: Config, log: Logger): Promise<CacheStats | string | null> {
  if (!config.redisUrl) return null
  const redis = await openCache(config, log)
  if (!redis) return 'REDIS_URL is set but Redis does not answer'
  try {
    return await cacheStats(redis)
  } catch (error) {
    return `Redis did not answer: ${(error as Error).message}`
  } finally {
    await closeCache(redis)
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}
