import { sql, type Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import type { BarRow, LatestRow } from './store.js'

/** Key families and TTLs of the price cache (issue #5). */
export const LATEST_PRICE_TTL_S = 60
export const HOURLY_1D_TTL_S = 120
export const latestPriceKey = (symbol: string) => `latest_price:${symbol}`
export const hourly1DKey = (symbol: string) => `hourly_data:${symbol}:1D`

/** What the cache holds for a symbol's latest price: the stored row as it is. */
export type CachedLatest = LatestRow

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

/** `etl cache warm` for prices: every symbol's latest price and 1D chart, from the warehouse. */
export async function warmPriceCache(redis: Redis, db: Kysely<any>): Promise<{ latest: number; hourly: number }> {
  const { rows: latest } = await sql<{ symbol: string; price: string; change_percent: string | null; volume: string | null; as_of: Date; source: string }>`
    select symbol, price, change_percent, volume, as_of, source from latest_prices order by symbol`.execute(db)
  const latestRows: LatestRow[] = latest.map((r) => ({
    symbol: r.symbol,
    price: Number(r.price),
    changePercent: r.change_percent === null ? null : Number(r.change_percent),
    volume: r.volume === null ? null : Number(r.volume),
    asOf: new Date(r.as_of).toISOString(),
    source: r.source,
  }))
  await cacheLatest(redis, latestRows)
  
  const { rows: bars } = await sql<Record<string, unknown>>`
    select h.symbol, h.ts, h.date, h.open, h.high, h.low, h.close, h.volume, h.vwap, h.trades, h.source
    from price_bars_hourly h
    join (select symbol, max(date) as date from price_bars_hourly group by symbol) last on last.symbol = h.symbol and last.date = h.date
    order by h.symbol, h.ts`.execute(db)
  const bySymbol = new Map<string, BarRow[]>()
  for (const r of bars) {
    const row: BarRow = {
      symbol: String(r.symbol),
      ts: new Date(r.ts as Date).toISOString(),
      date: String(r.date),
      open: Number(r.open),
      high: Number(r.high),
      low: Number(r.low),
      close: Number(r.close),
      volume: r.volume === null ? null : Number(r.volume),
      vwap: r.vwap === null ? null : Number(r.vwap),
      trades: r.trades === null ? null : Number(r.trades),
      source: String(r.source),
    }
    bySymbol.set(row.symbol, [...(bySymbol.get(row.symbol) ?? []), row])
  }
  await cacheHourly1D(redis, bySymbol)
  return { latest: latestRows.length, hourly: bySymbol.size }
}

async function execOrThrow(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await pipeline.exec()) ?? []
  const failed = results.find(([error]) => error)
  if (failed) throw failed[0]
}
