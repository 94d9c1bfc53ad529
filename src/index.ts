/**
 * nightshift's programmatic API: the same functions the `etl` CLI calls.
 *
 * @example
 * import { runPipeline } from 'nightshift'
 * const outcomes = await runPipeline('2025-01-15', { force: true })
 */
import { loadConfig, type Config } from './config.js'
import { backfill as backfillRange, type BackfillSummary } from './engine/backfill.js'
import { EtlContext } from './engine/context.js'
import { assertEnded, lastEndedDay } from './engine/ended.js'
import { runJob as runOne, targetOf, type RunOutcome } from './engine/runner.js'
import { runSequence } from './engine/sequence.js'
import { silentLogger, type Logger } from './log.js'
import { parseDate, yesterday, type IsoDate } from './time/calendar.js'

export * from './define.js'
/** kysely's sql tag, so job files need only import nightshift. */
export { sql } from 'kysely'
export { EtlError, exitCodeOf } from './errors.js'
export { parseDate, dateRange, dayBounds, dateKey, weekStart, monthStart, type IsoDate, type Bounds } from './time/calendar.js'
export type { JobContext, JobResult, JobDefinition, RegisteredJob, PartitionKind } from './engine/job.js'
export type { CustomJobDefinition } from './kinds/custom/index.js'
export type { JobFile, JobFileOf, JobKind } from './kinds/index.js'
export type { RunOutcome } from './engine/runner.js'
export type { BackfillSummary } from './engine/backfill.js'
export type { Config } from './config.js'
export { loadConfig, EtlContext, targetOf }

export interface ApiOptions {
  /** Default: read from the environment. */
  config?: Config
  /** Default: silent. */
  log?: Logger
}

async function withContext<T>(options: ApiOptions, fn: (ctx: EtlContext) => Promise<T>): Promise<T> {
  const ctx = new EtlContext(options.config ?? loadConfig(), options.log ?? silentLogger)
  try {
    return await fn(ctx)
  } finally {
    await ctx.close()
  }
}

/** One job for one date (default: yesterday in ETL_TIMEZONE). */
export async function runJob(
  name: string,
  options: ApiOptions & { date?: IsoDate; force?: boolean; dryRun?: boolean } = {},
): Promise<RunOutcome> {
  return withContext(options, async (ctx) => {
    const job = (await ctx.registry()).get(name)
    const date = options.date ? parseDate(options.date) : lastEndedDay(job.partition, ctx.now(), ctx.config.timezone)
    if (job.partition !== 'none') assertEnded([job], date, ctx.now(), ctx.config.timezone)
    return runOne(await ctx.runEnv(), { job, date, force: options.force, dryRun: options.dryRun })
  })
}

/** The daily pipeline for a date, in dependency order, as `etl run`. */
export async function runPipeline(
  date?: IsoDate,
  options: ApiOptions & { force?: boolean; jobs?: string[] } = {},
): Promise<RunOutcome[]> {
  return withContext(options, async (ctx) => {
    const jobs = (await ctx.registry()).select(options.jobs)
    const day = date ? parseDate(date) : yesterday(ctx.now(), ctx.config.timezone)
    if (jobs.some((j) => j.partition !== 'none')) assertEnded(jobs, day, ctx.now(), ctx.config.timezone)
    return runSequence(await ctx.runEnv(), jobs, day, { force: options.force })
  })
}

/** Every (job, day) of a range, as `etl backfill`. */
export async function backfill(
  options: ApiOptions & { from: IsoDate; to: IsoDate; jobs?: string[]; concurrency?: number; force?: boolean },
): Promise<BackfillSummary> {
  return withContext(options, async (ctx) => {
    const registry = await ctx.registry()
    const jobs = registry.select(options.jobs)
    return backfillRange(await ctx.runEnv(), { ...options, jobs })
  })
}

/** Streaming building blocks for custom jobs: describe a source, COPY it into staging. */
export { loadStaging } from './io/staging.js'
export { describeTable, describeQuery, type SourceColumn } from './io/describe.js'
export { versionAt } from './kinds/dimension/point-in-time.js'
export { openPostgres } from './db/postgres.js'
export { readPrices, readLatest, type PriceBar, type PriceRead } from './kinds/prices/read.js'
export { openCache, closeCache } from './cache/redis.js'
export { cached, cacheGet, cacheSet, invalidateTags, metricsKeys, metricsTags, TTL } from './cache/metrics.js'
export { isMarketOpen, isTradingDay, sessionOf, nyseHolidays, lastMarketDay, MARKET_ZONE } from './time/market.js'
