import { sql } from 'kysely'
import type { Redis } from 'ioredis'
import { hourly1DKey, latestPriceKey, type CachedLatest } from './cache.js'
import { countHit } from '../../cache/stats.js'
import type { Database } from '../../db/database.js'
import type { Logger } from '../../log.js'
import { redact } from '../../redact.js'
import { marketDate } from '../../time/market.js'
import { rangeStart, type PriceRange, type ShowRange } from './ranges.js'
import type { BarRow } from './store.js'

/** A bar as readers get it: `t` is the bar's start (hourly) or its New York date (daily). */
export interface PriceBar {
  symbol: string
  t: string
  date: string
  open: number
  high: number
  low: number
  close: number
  volume: number | null
  vwap: number | null
}

export interface PriceRead {
  /** Where the bars came from. */
  source: 'cache' | 'warehouse'
  bars: PriceBar[]
}

export interface ReadDeps {
  /** A connected client, or undefined for no cache. */
  cache: Redis | undefined
  /** The warehouse, opened only when the cache cannot answer. */
  warehouse: () => Promise<Database>
  now: Date
  log: Logger
}

/**
 * The read path of a price chart: 1D (today's hourly bars) from the cache first, falling back to
 * the warehouse on a miss or a Redis error; every other range from the warehouse's daily bars.
 * No data is an empty array, never an error. `regularSession` keeps only the regular session's
 * hourly bars (09:00–15:00 New York), leaving out the extended hours Polygon also gives.
 *
 * @example
 * const { source, bars } = await readPrices('AAPL', '1D', { cache, warehouse: () => wh, now: new Date(), log })
 */
export async function readPrices(symbol: string, range: ShowRange, deps: ReadDeps, options: { regularSession?: boolean } = {}): Promise<PriceRead> {
  if (range === '1D') {
    // hourly stock bars include extended hours; a chart of the regular session leaves 'pre' and 'post' out
    const regular = options.regularSession ?? false
    const cached = await fromCache<BarRow[]>(deps, 'hourly_data', hourly1DKey(symbol))
    if (cached) return { source: 'cache', bars: cached.filter((r) => !regular || !r.session || r.session === 'regular').map(fromRow) }
    const db = (await deps.warehouse()).db
    const { rows } = await sql<WarehouseBar>`
      select symbol, ts as t, date, open, high, low, close, volume, vwap from price_bars_hourly
      where symbol = ${symbol} and date = (select max(date) from price_bars_hourly where symbol = ${symbol})
        and (not ${regular}::boolean or session is null or session = 'regular')
      order by ts`.execute(db)
    return { source: 'warehouse', bars: rows.map(fromWarehouse) }
  }
  const from = rangeStart(range as PriceRange, marketDate(deps.now))
  const db = (await deps.warehouse()).db
  const { rows } = await sql<WarehouseBar>`
    select symbol, date as t, date, open, high, low, close, volume, vwap from price_bars_daily
    where symbol = ${symbol} and date >= ${from}::date
    order by date`.execute(db)
  return { source: 'warehouse', bars: rows.map(fromWarehouse) }
}

/** The latest price of a symbol: the cache first, then `latest_prices`; undefined when neither has it. */
export async function readLatest(symbol: string, deps: ReadDeps): Promise<(CachedLatest & { from: 'cache' | 'warehouse' }) | undefined> {
  const cached = await fromCache<CachedLatest>(deps, 'latest_price', latestPriceKey(symbol))
  if (cached) return { ...cached, from: 'cache' }
  const db = (await deps.warehouse()).db
  const { rows } = await sql<{ symbol: string; price: string; change_percent: string | null; volume: string | null; as_of: Date; source: string }>`
    select symbol, price, change_percent, volume, as_of, source from latest_prices where symbol = ${symbol}`.execute(db)
  const row = rows[0]
  if (!row) return undefined
  return {
    symbol: row.symbol,
    price: Number(row.price),
    changePercent: numberOrNull(row.change_percent),
    volume: numberOrNull(row.volume),
    asOf: new Date(row.as_of).toISOString(),
    source: row.source,
    from: 'warehouse',
  }
}

async function fromCache<T>(deps: ReadDeps, family: string, key: string): Promise<T | undefined> {
  if (!deps.cache) return undefined
  try {
    const text = await deps.cache.get(key)
    await countHit(deps.cache, family, text !== null)
    return text === null ? undefined : (JSON.parse(text) as T)
  } catch (error) {
    deps.log.warn(`cache read of ${key} failed (${redact((error as Error).message)}); reading the warehouse`)
    return undefined
  }
}

interface WarehouseBar {
  symbol: string
  t: Date | string
  date: string
  open: string | number
  high: string | number
  low: string | number
  close: string | number
  volume: string | number | null
  vwap: string | number | null
}

const numberOrNull = (v: string | number | null): number | null => (v === null ? null : Number(v))

function fromWarehouse(r: WarehouseBar): PriceBar {
  return {
    symbol: r.symbol,
    t: r.t instanceof Date ? r.t.toISOString() : String(r.t),
    date: r.date,
    open: Number(r.open),
    high: Number(r.high),
    low: Number(r.low),
    close: Number(r.close),
    volume: numberOrNull(r.volume),
    vwap: numberOrNull(r.vwap),
  }
}

function fromRow(r: BarRow): PriceBar {
  return { symbol: r.symbol, t: r.ts ?? r.date, date: r.date, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume, vwap: r.vwap }
}
