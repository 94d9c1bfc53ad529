import { sql, type Kysely } from 'kysely'
import { ensurePartitionsBetween } from '../../storage/partitions.js'
import { dropOlderThan } from '../../storage/retention.js'
import type { IsoDate } from '../../time/calendar.js'

/**
 * The warehouse side of prices, one statement per function. Rows go in as one jsonb parameter
 * expanded by `jsonb_to_recordset`, so a batch of symbols is one set-based upsert; a row that
 * did not change is not written at all, so a re-run changes nothing.
 */
export interface BarRow {
  symbol: string
  /** ISO instant of the bar's start (hourly) or null (daily). */
  ts: string | null
  /** New York market date. */
  date: IsoDate
  open: number
  high: number
  low: number
  close: number
  volume: number | null
  vwap: number | null
  trades: number | null
  source: string
  /** Hourly stock bars: 'pre', 'regular' or 'post' (src/kinds/prices/sessions.ts); null otherwise. */
  session?: string | null
}

export interface LatestRow {
  symbol: string
  price: number
  changePercent: number | null
  volume: number | null
  asOf: string
  source: string
}

export interface UpsertCounts {
  inserted: number
  updated: number
}

const BAR_COLUMNS = sql`symbol text, ts timestamptz, date date, open numeric, high numeric, low numeric, close numeric, volume numeric, vwap numeric, trades bigint, source text, session text`

export async function upsertDailyBars(db: Kysely<any>, rows: readonly BarRow[], now: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 }
  const { rows: [counts] } = await sql<UpsertCounts>`
    with input as (
      select distinct on (r.symbol, r.date) r.* from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(${BAR_COLUMNS})
      order by r.symbol, r.date
    ), upserted as (
      insert into price_bars_daily as t (symbol, date, open, high, low, close, volume, vwap, trades, source, updated_at)
      select symbol, date, open, high, low, close, volume, vwap, trades, source, ${now}::timestamptz from input
      on conflict (symbol, date) do update set
        open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume,
        vwap = excluded.vwap, trades = excluded.trades, source = excluded.source, updated_at = excluded.updated_at
      where (t.open, t.high, t.low, t.close, t.volume, t.vwap, t.trades, t.source)
        is distinct from (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.vwap, excluded.trades, excluded.source)
      returning t.symbol, t.date
    )
    -- the main query sees the table as it was before the upsert: a match means an update
    select count(*) filter (where e.symbol is null)::int as inserted, count(*) filter (where e.symbol is not null)::int as updated
    from upserted u left join price_bars_daily e on e.symbol = u.symbol and e.date = u.date`.execute(db)
  return counts!
}

export async function upsertHourlyBars(db: Kysely<any>, rows: readonly BarRow[], now: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 }
  const { rows: [counts] } = await sql<UpsertCounts>`
    with input as (
      select distinct on (r.symbol, r.ts) r.* from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(${BAR_COLUMNS})
      order by r.symbol, r.ts
    ), upserted as (
      insert into price_bars_hourly as t (symbol, ts, date, open, high, low, close, volume, vwap, trades, source, session, updated_at)
      select symbol, ts, date, open, high, low, close, volume, vwap, trades, source, session, ${now}::timestamptz from input
      on conflict (symbol, ts) do update set
        date = excluded.date, open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
        volume = excluded.volume, vwap = excluded.vwap, trades = excluded.trades, source = excluded.source, session = excluded.session,
        updated_at = excluded.updated_at
      where (t.date, t.open, t.high, t.low, t.close, t.volume, t.vwap, t.trades, t.source, t.session)
        is distinct from (excluded.date, excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.vwap, excluded.trades, excluded.source, excluded.session)
      returning t.symbol, t.ts
    )
    select count(*) filter (where e.symbol is null)::int as inserted, count(*) filter (where e.symbol is not null)::int as updated
    from upserted u left join price_bars_hourly e on e.symbol = u.symbol and e.ts = u.ts`.execute(db)
  return counts!
}

export async function upsertLatest(db: Kysely<any>, rows: readonly LatestRow[], now: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 }
  const { rows: [counts] } = await sql<UpsertCounts>`
    with input as (
      select distinct on (r.symbol) r.* from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as r(symbol text, price numeric, "changePercent" numeric, volume numeric, "asOf" timestamptz, source text)
      order by r.symbol
    ), upserted as (
      insert into latest_prices as t (symbol, price, change_percent, volume, as_of, source, updated_at)
      select symbol, price, "changePercent", volume, "asOf", source, ${now}::timestamptz from input
      on conflict (symbol) do update set
        price = excluded.price, change_percent = excluded.change_percent, volume = excluded.volume,
        as_of = excluded.as_of, source = excluded.source, updated_at = excluded.updated_at
      -- an older quote never replaces a newer one (a slow retry, a re-run)
      where excluded.as_of >= t.as_of
        and (t.price, t.change_percent, t.volume, t.as_of, t.source)
          is distinct from (excluded.price, excluded.change_percent, excluded.volume, excluded.as_of, excluded.source)
      returning t.symbol
    )
    select count(*) filter (where e.symbol is null)::int as inserted, count(*) filter (where e.symbol is not null)::int as updated
    from upserted u left join latest_prices e on e.symbol = u.symbol`.execute(db)
  return counts!
}

/** Creates the monthly partitions that `[from, to]` needs (a no-op on a hypertable), by src/storage's rule. Returns how many were made. */
export async function ensurePartitions(db: Kysely<any>, table: 'price_bars_daily' | 'price_bars_hourly', from: IsoDate, to: IsoDate): Promise<number> {
  return (await ensurePartitionsBetween({ db }, table, from, to)).length
}

/** Retention: drops partitions (or chunks) wholly older than `keep` ('2 years'), as the `retention` job does. Returns how many. */
export async function dropOldPartitions(db: Kysely<any>, table: 'price_bars_daily' | 'price_bars_hourly', keep: string, at: Date): Promise<number> {
  return (await dropOlderThan(db, table, keep, at)).partitions
}
