import { sql, type Kysely } from 'kysely'
import { EtlError } from '../../errors.js'
import { addDays, monthStart, quarterStart, yearStart, type IsoDate } from '../../time/calendar.js'

export const SERIES_PERIODS = ['weekly', 'monthly', 'quarterly', 'yearly'] as const
export type SeriesPeriod = (typeof SERIES_PERIODS)[number]

export interface SeriesWindow {
  readonly period: SeriesPeriod
  /** window_start: the first day of the window. */
  readonly from: IsoDate
  /** The last day of the window (today), included. */
  readonly to: IsoDate
}

/**
 * The window of a period on a day (today in ETL_TIMEZONE): weekly = the last 7 days, monthly =
 * the month so far, quarterly = the quarter so far, yearly = the year so far.
 *
 * @example seriesWindow('monthly', '2025-03-15') // { period: 'monthly', from: '2025-03-01', to: '2025-03-15' }
 */
export function seriesWindow(period: SeriesPeriod, today: IsoDate): SeriesWindow {
  const from =
    period === 'weekly' ? addDays(today, -6) : period === 'monthly' ? monthStart(today) : period === 'quarterly' ? quarterStart(today) : yearStart(today)
  return { period, from, to: today }
}

/** A tenant id from the command line: a positive integer, never anything that could become a schema name. */
export function parseCompanyId(input: string, what = '--company'): number {
  const n = Number(input)
  if (!/^[1-9][0-9]{0,15}$/.test(input) || !Number.isSafeInteger(n)) {
    throw new EtlError('BAD_INPUT', `${what} '${input}' is not a tenant id; give a positive integer such as 42`)
  }
  return n
}

export function parsePeriod(input: string): SeriesPeriod {
  if (!(SERIES_PERIODS as readonly string[]).includes(input)) {
    throw new EtlError('BAD_INPUT', `--period '${input}' is not a period; use one of ${SERIES_PERIODS.join(', ')}`)
  }
  return input as SeriesPeriod
}

/** Tenants that get a time series: the current, active versions in dim_tenant (none before its first sync). */
export async function activeTenants(db: Kysely<any>): Promise<number[]> {
  const { rows: present } = await sql<{ ok: boolean }>`select to_regclass('dim_tenant') is not null as ok`.execute(db)
  if (!present[0]?.ok) return []
  const { rows } = await sql<{ id: number }>`select id from dim_tenant where is_current and is_active and not is_deleted order by id`.execute(db)
  return rows.map((r) => Number(r.id))
}

/** One call of the migration's SQL function: the set-based work for one tenant and one window. */
export async function populateTenantWindow(db: Kysely<any>, tenantId: number, window: SeriesWindow): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select populate_company_metrics_time_series(${tenantId}::bigint, ${window.period}::text, ${window.from}::date, ${window.to}::date) as n`.execute(db)
  return Number(rows[0]?.n ?? 0)
}

export interface SeriesRow {
  ts: IsoDate
  series: string
  value: number
  running_sum: number
  granularity: string
  window_start: IsoDate
}

/**
 * The chart rows of a tenant's latest window of a period, ordered for plotting. Empty when the
 * tenant has no series table yet.
 */
export async function readSeries(db: Kysely<any>, tenantId: number, period: SeriesPeriod): Promise<SeriesRow[]> {
  const schema = `analytics_company_${tenantId}`
  const { rows: present } = await sql<{ ok: boolean }>`select to_regclass(${`${schema}.metrics_time_series`}) is not null as ok`.execute(db)
  if (!present[0]?.ok) return []
  const table = sql.table(`${schema}.metrics_time_series`)
  const { rows } = await sql<SeriesRow>`
    select to_char(ts, 'YYYY-MM-DD') as ts, series, value::float8 as value, running_sum::float8 as running_sum, granularity,
           to_char(window_start, 'YYYY-MM-DD') as window_start
    from ${table}
    where period_type = ${period} and window_start = (select max(window_start) from ${table} where period_type = ${period})
    order by series, ts`.execute(db)
  return rows
}
