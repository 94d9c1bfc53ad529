import { sql, type Kysely, type RawBuilder } from 'kysely'
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
const BAR_VALUES = ['open', 'high', 'low', 'close', 'volume', 'vwap', 'trades', 'source']

/** One price table's upsert: its key, its columns (each with the input column it takes), a guard. */
interface UpsertSpec {
  readonly table: string
  /** The columns of the input rows, as `jsonb_to_recordset` types them. */
  readonly input: RawBuilder<unknown>
  readonly key: readonly string[]
  /** The columns written besides the key and `updated_at`, as `[column, input column]`. */
  readonly values: ReadonlyArray<readonly [string, string]>
  /** When a conflicting row may be replaced at all, besides having changed. */
  readonly guard?: RawBuilder<unknown>
}

const same = (names: readonly string[]) => names.map((n) => [n, n] as const)

const DAILY: UpsertSpec = { table: 'price_bars_daily', input: BAR_COLUMNS, key: ['symbol', 'date'], values: same(BAR_VALUES) }
const HOURLY: UpsertSpec = { table: 'price_bars_hourly', input: BAR_COLUMNS, key: ['symbol', 'ts'], values: same(['date', ...BAR_VALUES, 'session']) }
const LATEST: UpsertSpec = {
  table: 'latest_prices',
  input: sql`symbol text, price numeric, "changePercent" numeric, volume numeric, "asOf" timestamptz, source text`,
  key: ['symbol'],
  values: [['price', 'price'], ['change_percent', 'changePercent'], ['volume', 'volume'], ['as_of', 'asOf'], ['source', 'source']],
  // an older quote never replaces a newer one (a slow retry, a re-run)
  guard: sql`excluded.as_of >= t.as_of`,
}

export const upsertDailyBars = (db: Kysely<any>, rows: readonly BarRow[], now: Date) => upsert(db, DAILY, rows, now)
export const upsertHourlyBars = (db: Kysely<any>, rows: readonly BarRow[], now: Date) => upsert(db, HOURLY, rows, now)
export const upsertLatest = (db: Kysely<any>, rows: readonly LatestRow[], now: Date) => upsert(db, LATEST, rows, now)

/** The rows, one per key, into the table in one statement; a row that did not change is not written. */
async function upsert(db: Kysely<any>, spec: UpsertSpec, rows: readonly object[], now: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 }
  const list = (names: readonly string[], prefix?: string) => sql.join(names.map((n) => sql.ref(prefix ? `${prefix}.${n}` : n)))
  const columns = spec.values.map(([column]) => column)
  const key = list(spec.key, 'r')
  const found = sql.ref(`e.${spec.key[0]!}`)
  const { rows: [counts] } = await sql<UpsertCounts>`
    with input as (
      select distinct on (${key}) r.* from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(${spec.input})
      order by ${key}
    ), upserted as (
      insert into ${sql.table(spec.table)} as t (${list([...spec.key, ...columns, 'updated_at'])})
      select ${list([...spec.key, ...spec.values.map(([, from]) => from)])}, ${now}::timestamptz from input
      on conflict (${list(spec.key)}) do update set
        ${sql.join([...columns, 'updated_at'].map((c) => sql`${sql.ref(c)} = ${sql.ref(`excluded.${c}`)}`))}
      where ${spec.guard ? sql`${spec.guard} and ` : sql``}(${list(columns, 't')}) is distinct from (${list(columns, 'excluded')})
      returning ${list(spec.key, 't')}
    )
    -- the main query sees the table as it was before the upsert: a match means an update
    select count(*) filter (where ${found} is null)::int as inserted, count(*) filter (where ${found} is not null)::int as updated
    from upserted u left join ${sql.table(spec.table)} e on ${sql.join(spec.key.map((k) => sql`${sql.ref(`e.${k}`)} = ${sql.ref(`u.${k}`)}`), sql` and `)}`.execute(db)
  return counts!
}

/** Creates the monthly partitions that `[from, to]` needs (a no-op on a hypertable). Returns how many were made. */
export async function ensurePartitions(db: Kysely<any>, table: 'price_bars_daily' | 'price_bars_hourly', from: IsoDate, to: IsoDate): Promise<number> {
  const { rows } = await sql<{ made: number }>`select nightshift_ensure_month_partitions(${table}::regclass, ${from}::date, ${to}::date) as made`.execute(db)
  return Number(rows[0]?.made ?? 0)
}

/** Retention: drops partitions (or chunks) wholly older than `keep` ('2 years'). Returns how many. */
export async function dropOldPartitions(db: Kysely<any>, table: 'price_bars_daily' | 'price_bars_hourly', keep: string, at: Date): Promise<number> {
  const { rows } = await sql<{ dropped: number }>`select nightshift_drop_old_partitions(${table}::regclass, ${keep}::interval, ${at}::timestamptz) as dropped`.execute(db)
  return Number(rows[0]?.dropped ?? 0)
}
