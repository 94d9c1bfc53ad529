import type { Redis } from 'ioredis'
import type { BarRow, LatestRow } from './store.js'

/** Key families and TTLs of the price cache (issue #5). */
export const LATEST_PRICE_TTL_S = 60
export const HOURLY_1D_TTL_S = 120
export const latestPriceKey = (symbol: string) => `latest_price:${symbol}`
export const hourly1DKey = (symbol: string) => `hourly_data:${symbol}:1D`

/** What the cache holds for a symbol's latest price. */
export interface CachedLatest {
  symbol: string
  price: number
  changePercent: number | null
  volume: number | null
  asOf: string
  source: string
}

/** Writes latest prices in one pipeline (one round trip), each key with its TTL. Throws if Redis fails. */
export async function cacheLatest(redis: Redis, rows: readonly LatestRow[]): Promise<void> {
  if (rows.length === 0) return
  const pipeline = redis.pipeline()
  for (const row of rows) {
    const value: CachedLatest = { symbol: row.symbol, price: row.price, changePercent: row.changePercent, volume: row.volume, asOf: row.asOf, source: row.source }
    pipeline.set(latestPriceKey(row.symbol), JSON.stringify(value), 'EX', LATEST_PRICE_TTL_S)
  }
  await execOrThrow(pipeline)
}

/** Writes each symbol's hourly bars of the day (the 1D chart) in one pipeline. */
export async function cacheHourly1D(redis: Redis, bySymbol: ReadonlyMap<string, readonly BarRow[]>): Promise<void> {
  if (bySymbol.size === 0) return
  const pipeline = redis.pipeline()
  for (const [symbol, bars] of bySymbol) pipeline.set(hourly1DKey(symbol), JSON.stringify(bars), 'EX', HOURLY_1D_TTL_S)
  await execOrThrow(pipeline)
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await pipeline.exec()) ?? []
  const failed = results.find(([error]) => error)
  if (failed) throw failed[0]
}
