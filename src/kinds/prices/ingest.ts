import type { JobContext, JobResult } from '../../engine/job.js'
import { cacheHourly1D, cacheLatest } from './cache.js'
import { closeCache, openCache, tryCache } from '../../cache/redis.js'
import { lastMarketDay, marketDate, marketWindow } from '../../time/market.js'
import { resolveAssets } from './assets.js'
import { providerNamed } from '../../providers/index.js'
import { extendedWindow, sessionOfBar } from './sessions.js'
import { rangeStart, RANGES, type PriceRange } from './ranges.js'
import { openPriceSources, type PriceSources, type ProviderLimits } from './sources.js'
import { dropOldPartitions, ensurePartitions, upsertDailyBars, upsertHourlyBars, upsertLatest, type BarRow, type LatestRow } from './store.js'
import type { Asset, Bar } from './types.js'

/** The fields of a `prices` job file (all optional: a bare `{ kind: 'prices' }` ingests 7 days of daily bars). */
export interface PricesDefinition {
  /** What to ingest: daily bars of a range, hourly bars of the market day, or latest prices. */
  bars?: 'daily' | 'hourly' | 'latest'
  /** Daily bars: the range when the command gives none. Default 7D. */
  range?: PriceRange
  /** Skip at once (recorded SKIPPED) outside the session, unless forced. */
  marketHoursOnly?: boolean
  /** With marketHoursOnly: still run this long after the close (the last hourly bar). */
  afterCloseMinutes?: number
  /** With marketHoursOnly: the window is extended hours, 04:00–20:00 New York, as Polygon's hourly bars are. */
  extendedHours?: boolean
  /** Default symbols; the command's win. Default: every active asset. */
  symbols?: string[]
  /** Assets fetched and written together. Default 50. */
  batchSize?: number
  limits?: ProviderLimits
  /** Retention of the job's table after each load, such as '2 years'. */
  retention?: string
}

export const DEFAULT_BATCH_SIZE = 50

interface Tally {
  processed: number
  inserted: number
  updated: number
  failed: Array<{ unit: string; error: string }>
  warnings: Array<{ unit: string; warning: string }>
}

/**
 * The `prices` kind: fetch in batches of `batchSize` assets (each provider rate-limited on its
 * own), upsert each batch in one statement, and after the commit put latest prices and today's
 * hourly bars in the cache. A symbol that fails is a failed unit (PARTIAL); the others are
 * written. Every symbol failing is a FAILED run.
 */
export async function ingestPrices(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as PricesDefinition
  const mode = def.bars ?? 'daily'
  if (def.marketHoursOnly && !ctx.force) {
    const window = def.extendedHours ? extendedWindow(ctx.now, def.afterCloseMinutes ?? 0) : marketWindow(ctx.now, def.afterCloseMinutes ?? 0)
    if (!window.open) return { skipped: `${window.reason}; --force runs it anyway` }
  }
  const symbols = (ctx.parameters.symbols as string[] | undefined) ?? def.symbols
  const assets = await resolveAssets(await ctx.source(), symbols)
  if (assets.length === 0) {
    ctx.log.warn('no assets to price: the source has no active assets and no symbols were given')
    return { rowsProcessed: 0 }
  }
  const tally: Tally = { processed: 0, inserted: 0, updated: 0, failed: [], warnings: [] }
  const sources = openPriceSources(ctx.config, {
    limits: def.limits,
    log: ctx.log,
    now: () => ctx.now,
    warn: (unit, warning) => {
      tally.warnings.push({ unit, warning })
      ctx.log.warn({ symbol: unit }, warning)
    },
  })
  const forCache: { latest: LatestRow[]; hourly: Map<string, BarRow[]> } = { latest: [], hourly: new Map() }
  try {
    const batchSize = def.batchSize ?? DEFAULT_BATCH_SIZE
    for (let i = 0; i < assets.length; i += batchSize) {
      const batch = assets.slice(i, i + batchSize)
      if (mode === 'latest') await latestBatch(ctx, sources, batch, tally, forCache.latest)
      else await barsBatch(ctx, sources, batch, mode, def, tally, forCache.hourly)
    }
  } finally {
    await sources.close()
  }
  if (tally.failed.length === assets.length) {
    throw Object.assign(new Error(`every symbol failed: ${tally.failed.map((f) => `${f.unit} (${f.error})`).join('; ')}`), { failedUnits: tally.failed })
  }
  if (def.retention && mode !== 'latest') {
    const table = mode === 'daily' ? 'price_bars_daily' : 'price_bars_hourly'
    const dropped = await dropOldPartitions(ctx.db, table, def.retention, ctx.now)
    if (dropped) ctx.log.info({ table, dropped }, `retention: dropped partitions older than ${def.retention}`)
  }
  return {
    rowsProcessed: tally.processed,
    rowsInserted: tally.inserted,
    rowsUpdated: tally.updated,
    failedUnits: tally.failed,
    warnings: tally.warnings,
    afterCommit: forCache.latest.length || forCache.hourly.size ? () => fillCache(ctx, forCache) : undefined,
  }
}

async function barsBatch(
  ctx: JobContext,
  sources: PriceSources,
  batch: readonly Asset[],
  mode: 'daily' | 'hourly',
  def: PricesDefinition,
  tally: Tally,
  hourlyForCache: Map<string, BarRow[]>,
): Promise<void> {
  const today = marketDate(ctx.now)
  const utcToday = ctx.now.toISOString().slice(0, 10)
  const range = (ctx.parameters.range as PriceRange | undefined) ?? def.range ?? '7D'
  if (!RANGES.includes(range)) throw new Error(`range '${range}' is not one of ${RANGES.join(' ')}`)
  const rows: BarRow[] = []
  await Promise.all(
    batch.map(async (asset) => {
      const provider = sources.providerFor(asset)
      try {
        // stocks: the last market day in New York; crypto trades every day, and its days are UTC days
        const crypto = isCrypto(asset, provider.name)
        const last = crypto ? utcToday : today
        // in extended hours a trading day's bars start at 04:00, before its opening bell
        const day = crypto ? utcToday : (def.extendedHours && extendedWindow(ctx.now).day) || lastMarketDay(ctx.now)
        const bars = mode === 'daily' ? await provider.dailyBars(asset, rangeStart(range, last), last) : await provider.hourlyBars(asset, day)
        const assetRows = bars.map((b) => toRow(asset, b, provider.name, mode, crypto))
        rows.push(...assetRows)
        if (mode === 'hourly') hourlyForCache.set(asset.symbol, assetRows)
      } catch (error) {
        tally.failed.push({ unit: asset.symbol, error: (error as Error).message })
        ctx.log.warn({ symbol: asset.symbol }, `failed: ${(error as Error).message}`)
      }
    }),
  )
  if (rows.length === 0) return
  const dates = rows.map((r) => r.date).sort()
  const table = mode === 'daily' ? 'price_bars_daily' : 'price_bars_hourly'
  await ensurePartitions(ctx.db, table, dates[0]!, dates.at(-1)!)
  const counts = mode === 'daily' ? await upsertDailyBars(ctx.db, rows, ctx.now) : await upsertHourlyBars(ctx.db, rows, ctx.now)
  tally.processed += rows.length
  tally.inserted += counts.inserted
  tally.updated += counts.updated
}

async function latestBatch(ctx: JobContext, sources: PriceSources, batch: readonly Asset[], tally: Tally, latestForCache: LatestRow[]): Promise<void> {
  const byProvider = new Map<string, Asset[]>()
  for (const asset of batch) {
    const name = sources.providerFor(asset).name
    byProvider.set(name, [...(byProvider.get(name) ?? []), asset])
  }
  const rows: LatestRow[] = []
  await Promise.all(
    [...byProvider.values()].map(async (assets) => {
      const provider = sources.providerFor(assets[0]!)
      const quotes = await provider.latest(assets)
      for (const asset of assets) {
        const quote = quotes.get(asset.symbol) ?? new Error('no answer for this symbol')
        if (quote instanceof Error) {
          tally.failed.push({ unit: asset.symbol, error: quote.message })
          ctx.log.warn({ symbol: asset.symbol }, `failed: ${quote.message}`)
          continue
        }
        rows.push({ symbol: asset.symbol, price: quote.price, changePercent: quote.changePercent, volume: quote.volume, asOf: new Date(quote.asOf).toISOString(), source: provider.name })
      }
    }),
  )
  const counts = await upsertLatest(ctx.db, rows, ctx.now)
  tally.processed += rows.length
  tally.inserted += counts.inserted
  tally.updated += counts.updated
  latestForCache.push(...rows)
}

/** CoinGecko's bars are of UTC days (its `utcDays`); the mock keeps New York days for every asset, as before. */
const isCrypto = (asset: Asset, provider: string) => asset.assetClass === 'crypto' && providerNamed(provider)?.utcDays === true

function toRow(asset: Asset, bar: Bar, source: string, mode: 'daily' | 'hourly', utcDays: boolean): BarRow {
  return {
    symbol: asset.symbol,
    ts: mode === 'hourly' ? new Date(bar.t).toISOString() : null,
    date: utcDays ? new Date(bar.t).toISOString().slice(0, 10) : marketDate(bar.t),
    session: mode === 'hourly' && !utcDays ? (sessionOfBar(bar.t) ?? null) : null,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    vwap: bar.vwap,
    trades: bar.trades === null ? null : Math.round(bar.trades),
    source,
  }
}

/** After the commit: one pipeline per key family. Redis unset, down or slow costs one warning. */
async function fillCache(ctx: JobContext, data: { latest: LatestRow[]; hourly: Map<string, BarRow[]> }): Promise<void> {
  const redis = await openCache(ctx.config, ctx.log)
  if (!redis) return
  try {
    await tryCache(ctx.log, 'write', async () => {
      await cacheLatest(redis, data.latest)
      await cacheHourly1D(redis, data.hourly)
    }, undefined)
  } finally {
    await closeCache(redis)
  }
}

