import { sql, type Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import type { BarRow, LatestRow } from '../kinds/prices/store.js'
import { cacheHourly1D, cacheLatest } from '../kinds/prices/cache.js'
import { cacheSet, metricsKeys, metricsTags } from './metrics.js'

export interface WarmCounts {
  latest: number
  hourly: number
  metrics: number
}

/**
 * `etl cache warm`: puts the payloads dashboards ask for first into the cache, from the
 * warehouse: every symbol's latest price and 1D chart, and each tenant's most recent daily,
 * weekly and monthly metrics (when those tables exist). Closed periods get the long TTL.
 */
export async function warmCache(redis: Redis, db: Kysely<any>): Promise<WarmCounts> {
  const counts: WarmCounts = { latest: 0, hourly: 0, metrics: 0 }

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
  counts.latest = latestRows.length

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
  counts.hourly = bySymbol.size

  counts.metrics += await warmPeriod(redis, db, 'daily_metrics', 'metric_date', (r, d) => [metricsKeys.daily('tenant', r.tenant_id, d), [metricsTags.daily(d)]])
  counts.metrics += await warmPeriod(redis, db, 'weekly_metrics', 'week_start', (r, d) => [metricsKeys.weekly('tenant', r.tenant_id, d), [metricsTags.weekly(d)]])
  counts.metrics += await warmPeriod(redis, db, 'monthly_metrics', 'month_start', (r, d) => [metricsKeys.monthly('tenant', r.tenant_id, d), [metricsTags.monthly(d)]])
  return counts
}

/** The latest period's row of every tenant, as JSON, under its key; nothing if the table is not there. */
async function warmPeriod(
  redis: Redis,
  db: Kysely<any>,
  table: 'daily_metrics' | 'weekly_metrics' | 'monthly_metrics',
  dateColumn: 'metric_date' | 'week_start' | 'month_start',
  keyOf: (row: { tenant_id: string | number }, date: string) => [string, string[]],
): Promise<number> {
  const { rows: [exists] } = await sql<{ ok: boolean }>`select to_regclass(${table}) is not null as ok`.execute(db)
  if (!exists?.ok) return 0
  const { rows } = await sql<{ payload: Record<string, unknown> & { tenant_id: number; is_complete?: boolean }; period: string }>`
    select to_jsonb(m) as payload, m.${sql.ref(dateColumn)}::text as period from ${sql.table(table)} m
    where m.${sql.ref(dateColumn)} = (select max(${sql.ref(dateColumn)}) from ${sql.table(table)})`.execute(db)
  for (const { payload, period } of rows) {
    const [key, tags] = keyOf(payload, period)
    await cacheSet(redis, key, payload, { ttl: payload.is_complete ? 'long' : 'default', tags: [...tags, metricsTags.tenant(payload.tenant_id)] })
  }
  return rows.length
}
