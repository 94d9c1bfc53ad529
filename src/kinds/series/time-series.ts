import { sql, type Kysely } from 'kysely'
import { EtlError } from '../../errors.js'
import { addDays, dateRange, monthStart, quarterStart, yearStart, type IsoDate } from '../../time/calendar.js'
import { tenantSeriesTable } from './table.js'

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

const GRANULARITY: Record<SeriesPeriod, 'day' | 'week' | 'month'> = { weekly: 'day', monthly: 'day', quarterly: 'week', yearly: 'month' }

/** The daily_metrics columns a tenant's chart has, by series name. */
const SERIES_COLUMNS = [
  ['sessions', 'sessions'],
  ['session_minutes', 'session_minutes'],
  ['activities_completed', 'activities_completed'],
  ['active_learner_days', 'active_learners'],
  ['new_learners', 'new_learners'],
  ['homework_submitted', 'homework_submitted'],
  ['recommendations_made', 'recommendations_made'],
  ['recommendations_accepted', 'recommendations_accepted'],
] as const

/**
 * One tenant's window from daily_metrics, one set-based upsert: weekly and monthly windows are day
 * buckets, quarterly week buckets (Monday, clipped to the window), yearly month buckets;
 * running_sum accumulates over ts within (period_type, window_start, series, granularity).
 * `is_complete`: the bucket's whole week/month (or its day) lies in the window and every day of it
 * is in `rolledUp` (days the daily rollup has a SUCCESS row for). Unchanged rows are not rewritten.
 *
 * The weekly window is rolling: a window replaces earlier weekly windows, and one older than the
 * weekly window already there (a history run) writes nothing. Returns the rows written and deleted.
 * The table must exist (ensureTenantSeriesTable).
 */
export async function fillTenantWindow(db: Kysely<any>, tenantId: number, window: SeriesWindow, rolledUp: readonly IsoDate[]): Promise<number> {
  const table = sql.table(tenantSeriesTable(tenantId))
  let deleted = 0
  if (window.period === 'weekly') {
    const { rows } = await sql<{ later: boolean }>`
      select exists (select 1 from ${table} where period_type = 'weekly' and window_start > ${window.from}::date) as later`.execute(db)
    if (rows[0]?.later) return 0
    const gone = await sql`delete from ${table} where period_type = 'weekly' and window_start < ${window.from}::date`.execute(db)
    deleted = Number(gone.numAffectedRows ?? 0)
  }
  const granularity = GRANULARITY[window.period]
  const perDay = sql.join(SERIES_COLUMNS.map(([name, column]) => sql`(${name}, cast(m.${sql.ref(column)} as numeric))`))
  const names = SERIES_COLUMNS.map(([name]) => name)
  const written = await sql`
    insert into ${table} as t (ts, series, value, running_sum, granularity, period_type, window_start, is_complete, updated_at)
    with days as (
      select cast(${window.from} as date) + i as d from generate_series(0, cast(${window.to} as date) - cast(${window.from} as date)) as i
    ), buckets as (
      select d, case ${granularity}
                  when 'day' then d
                  when 'week' then greatest(d - (extract(isodow from d)::int - 1), cast(${window.from} as date))
                  else make_date(extract(year from d)::int, extract(month from d)::int, 1)
                end as ts,
                case ${granularity}
                  when 'day' then d
                  when 'week' then d - (extract(isodow from d)::int - 1) + 6
                  else (make_date(extract(year from d)::int, extract(month from d)::int, 1) + interval '1 month' - interval '1 day')::date
                end as period_end,
                d = any(cast(${rolledUp} as date[])) as rolled_up
      from days
    ), bucket_state as (
      select ts, bool_and(rolled_up) and max(period_end) <= cast(${window.to} as date) as is_complete from buckets group by ts
    ), per_day as (
      select m.metric_date as d, s.series, s.value
      from daily_metrics m cross join lateral (values ${perDay}) as s (series, value)
      where m.tenant_id = ${tenantId} and m.metric_date >= cast(${window.from} as date) and m.metric_date <= cast(${window.to} as date)
    ), grid as (
      select b.ts, n.n as series, coalesce(sum(p.value), 0) as value
      from buckets b cross join unnest(cast(${names} as text[])) as n (n)
      left join per_day p on p.d = b.d and p.series = n.n
      group by b.ts, n.n
    )
    select g.ts, g.series, g.value,
           sum(g.value) over (partition by g.series order by g.ts rows between unbounded preceding and current row),
           ${granularity}, ${window.period}, cast(${window.from} as date), s.is_complete, now()
    from grid g join bucket_state s on s.ts = g.ts
    on conflict (period_type, window_start, ts, series, granularity) do update
      set value = excluded.value, running_sum = excluded.running_sum, is_complete = excluded.is_complete, updated_at = excluded.updated_at
      where (t.value, t.running_sum, t.is_complete) is distinct from (excluded.value, excluded.running_sum, excluded.is_complete)`.execute(db)
  return Number(written.numAffectedRows ?? 0) + deleted
}

/**
 * The windows a history run over `[from, to]` computes: each period's windows that hold a day of
 * the range, each ending at its last day in the range (a window ending earlier is a prefix of it),
 * and the weekly window of `to` only (it is rolling).
 *
 * @example historyWindows(['monthly'], '2025-02-20', '2025-03-05') // Feb 1 .. Feb 28, Mar 1 .. Mar 5
 */
export function historyWindows(periods: readonly SeriesPeriod[], from: IsoDate, to: IsoDate): SeriesWindow[] {
  const out: SeriesWindow[] = []
  for (const period of periods) {
    if (period === 'weekly') {
      out.push(seriesWindow(period, to))
      continue
    }
    const last = new Map<IsoDate, IsoDate>()
    for (const day of dateRange(from, to)) last.set(seriesWindow(period, day).from, day)
    for (const [start, end] of last) out.push({ period, from: start, to: end })
  }
  return out
}

export interface SeriesRow {
  ts: IsoDate
  series: string
  value: number
  running_sum: number
  granularity: string
  window_start: IsoDate
  is_complete: boolean
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
           to_char(window_start, 'YYYY-MM-DD') as window_start, is_complete
    from ${table}
    where period_type = ${period} and window_start = (select max(window_start) from ${table} where period_type = ${period})
    order by series, ts`.execute(db)
  return rows
}
