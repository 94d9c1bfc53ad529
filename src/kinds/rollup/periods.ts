import { CompiledQuery } from 'kysely'
import type { JobContext, JobResult } from '../../engine/job.js'
import { addDays, dateKey, nextPeriodStart, periodBounds, type IsoDate } from '../../time/calendar.js'
import { coverageOf } from './coverage.js'
import { tenantColumns, tenantNamesSql } from './tenants.js'

export type Grain = 'week' | 'month'

const TABLES = {
  week: { table: 'weekly_metrics', start: 'week_start', end: 'week_end', active: 'weekly_active_learners' },
  month: { table: 'monthly_metrics', start: 'month_start', end: 'month_end', active: 'monthly_active_learners' },
} as const

/** Additive daily_metrics columns summed over a period. */
const SUMS = [
  'active_learner_days', 'sessions', 'session_minutes', 'activities_completed', 'correct_responses', 'total_responses',
  'homework_submitted', 'homework_graded', 'homework_score_sum', 'recommendations_made', 'recommendations_accepted', 'new_learners',
] as const
const source = (c: (typeof SUMS)[number]) => (c === 'active_learner_days' ? 'active_learners' : c)

/** Growth columns: the measure compared with the previous period. */
const GROWTH: Array<[column: string, current: string, previous: string]> = [
  ['sessions_growth_pct', 'c.sessions', 'p.sessions'],
  ['session_minutes_growth_pct', 'c.session_minutes', 'p.session_minutes'],
  // learners per day: a 31-day month against a 28-day one compares averages, not sums
  ['active_learners_growth_pct', 'c.active_learner_days::numeric / cc.days', 'p.active_learner_days::numeric / pc.days'],
  ['new_learners_growth_pct', 'c.new_learners', 'p.new_learners'],
  ['homework_growth_pct', 'c.homework_submitted', 'p.homework_submitted'],
]

/**
 * One statement for a week or a month, from daily_metrics, except the distinct active learners
 * (WAU/MAU), which only the facts can count (a learner active on three days is one): `$1` period
 * start, `$2` next period start, `$3` previous period start, `$4` the days of both periods the
 * daily job is SUCCESS on, `$5` run id, `$6` run time, `$7` the period's end instant in
 * ETL_TIMEZONE (for the tenant's name then), `$8`/`$9`/`$10` the date_keys of `$3`/`$1`/`$2`.
 * Active learners are daily_metrics.active_learners' own: a session or a homework submission.
 * Completeness comes from the
 * ledger: a day counts when the daily job is SUCCESS for it. Growth % is null when the previous
 * period has no data, its base is zero, or either period is incomplete — never Infinity or NaN,
 * never a partial comparison.
 */
function periodSql(grain: Grain, dimTenant: ReadonlySet<string>): string {
  const { table, start, end, active } = TABLES[grain]
  const sums = (alias: string) => SUMS.map((c) => `coalesce(sum(${alias}.${source(c)}), 0) as ${c}`).join(', ')
  const growth = GROWTH.map(
    ([, cur, prev]) =>
      `case when cc.complete and pc.complete and (${prev}) <> 0
            then round((coalesce(${cur}, 0) - (${prev})) * 100.0 / (${prev}), 2) end`,
  )
  const breakdown =
    grain === 'month'
      ? `, wk as (
      select w.week_start, min(w.d) as from_day, max(w.d) as to_day, count(*)::int as days
      from (select d, d - (extract(isodow from d)::int - 1) as week_start from days where d >= $1::date) w
      group by w.week_start
    ), wk_sums as (
      select m.tenant_id, m.metric_date - (extract(isodow from m.metric_date)::int - 1) as week_start,
             sum(m.sessions) as sessions, sum(m.session_minutes) as session_minutes,
             sum(m.active_learners) as active_learner_days, sum(m.new_learners) as new_learners,
             sum(m.homework_submitted) as homework_submitted
      from daily_metrics m where m.metric_date >= $1::date and m.metric_date < $2::date
      group by 1, 2
    ), wk_au as (
      select x.tenant_id, x.d - (extract(isodow from x.d)::int - 1) as week_start, count(distinct x.learner_id) as active_learners
      from (select tenant_id, learner_id, to_date(date_key::text, 'YYYYMMDD') as d from learners where date_key >= $9) x
      group by 1, 2
    ), breakdown as (
      select t.tenant_id, jsonb_agg(jsonb_build_object(
               'week_start', w.week_start, 'from', w.from_day, 'to', w.to_day, 'days', w.days,
               'sessions', coalesce(s.sessions, 0), 'session_minutes', coalesce(s.session_minutes, 0),
               'active_learner_days', coalesce(s.active_learner_days, 0), 'new_learners', coalesce(s.new_learners, 0),
               'homework_submitted', coalesce(s.homework_submitted, 0),
               'active_learners', coalesce(a.active_learners, 0)) order by w.week_start) as weeks
      from tenants t cross join wk w
      left join wk_sums s on s.tenant_id = t.tenant_id and s.week_start = w.week_start
      left join wk_au a on a.tenant_id = t.tenant_id and a.week_start = w.week_start
      group by t.tenant_id
    )`
      : ''
  const columns = [
    'tenant_id', start, end, 'days_in_period', 'days_covered', 'is_complete', 'missing_days', ...SUMS.filter((c) => c !== 'homework_score_sum'),
    'correct_rate', 'homework_avg_score', 'recommendation_accept_rate', 'avg_daily_active_learners', 'avg_daily_sessions',
    'avg_daily_session_minutes', ...GROWTH.map(([c]) => c), ...(grain === 'month' ? ['weekly_breakdown'] : []),
    active, `${active}_growth_pct`, 'tenant_name', 'run_id', 'computed_at',
  ]
  const updates = columns.filter((c) => c !== 'tenant_id' && c !== start).map((c) => `${c} = excluded.${c}`)
  return `
    insert into ${table} (${columns.join(', ')})
    with days as (
      select $3::date + i as d from generate_series(0, $2::date - $3::date - 1) as i
    ), cov as (
      select d, d = any($4::date[]) as done
      from days
    ), cc as (
      select count(*)::int as days, (count(*) filter (where done))::int as covered, bool_and(done) as complete,
             coalesce(array_agg(d order by d) filter (where not done), '{}') as missing
      from cov where d >= $1::date
    ), pc as (
      select count(*)::int as days, bool_and(done) as complete from cov where d < $1::date
    ), cur as (
      select m.tenant_id, ${sums('m')} from daily_metrics m
      where m.metric_date >= $1::date and m.metric_date < $2::date group by m.tenant_id
    ), prev as (
      select m.tenant_id, ${sums('m')} from daily_metrics m
      where m.metric_date >= $3::date and m.metric_date < $1::date group by m.tenant_id
    ), learners as (
      select tenant_id, learner_id, date_key from fact_sessions where date_key >= $8 and date_key < $10
      union all
      select tenant_id, learner_id, date_key from fact_homework_events where date_key >= $8 and date_key < $10
    ), au as (
      select tenant_id, count(distinct learner_id) filter (where date_key >= $9) as cur,
             count(distinct learner_id) filter (where date_key < $9) as prev
      from learners group by tenant_id
    ), names as (${tenantNamesSql(dimTenant, '$7::timestamptz')}
    ), tenants as (
      select tenant_id from cur union select tenant_id from prev
    )${breakdown}
    select t.tenant_id, $1::date, $2::date - 1, cc.days, cc.covered, cc.complete, cc.missing,
           ${SUMS.filter((c) => c !== 'homework_score_sum').map((c) => `coalesce(c.${c}, 0)`).join(', ')},
           round(c.correct_responses::numeric / nullif(c.total_responses, 0), 4),
           round(c.homework_score_sum / nullif(c.homework_graded, 0), 2),
           round(c.recommendations_accepted::numeric / nullif(c.recommendations_made, 0), 4),
           round(coalesce(c.active_learner_days, 0)::numeric / nullif(cc.covered, 0), 2),
           round(coalesce(c.sessions, 0)::numeric / nullif(cc.covered, 0), 2),
           round(coalesce(c.session_minutes, 0)::numeric / nullif(cc.covered, 0), 2),
           ${growth.join(',\n           ')},
           ${grain === 'month' ? `coalesce(b.weeks, '[]'::jsonb), ` : ''}
           coalesce(au.cur, 0),
           case when cc.complete and pc.complete and au.prev <> 0 then round((au.cur - au.prev) * 100.0 / au.prev, 2) end,
           names.name, $5::uuid, $6::timestamptz
    from tenants t
    cross join cc cross join pc
    left join cur c on c.tenant_id = t.tenant_id
    left join prev p on p.tenant_id = t.tenant_id
    left join au on au.tenant_id = t.tenant_id
    left join names on names.tenant_id = t.tenant_id
    ${grain === 'month' ? 'left join breakdown b on b.tenant_id = t.tenant_id' : ''}
    on conflict (tenant_id, ${start}) do update set ${updates.join(', ')}`
}

/** The period before the one starting at `start`. */
export function previousPeriodStart(start: IsoDate, grain: Grain): IsoDate {
  if (grain === 'week') return addDays(start, -7)
  const [y, m] = start.split('-').map(Number) as [number, number]
  return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`
}

/**
 * aggregate_weekly_metrics / aggregate_monthly_metrics: one upsert by (tenant, period) from
 * daily_metrics, then the rows of tenants no longer there are removed. A period whose days are
 * not all SUCCESS in the daily job is written, marked is_complete = false with its missing days,
 * and the run is PARTIAL naming them, so the next run (or `etl retry`) recomputes it.
 */
export async function aggregatePeriod(ctx: JobContext, grain: Grain, dailyJob: string): Promise<JobResult> {
  if (!ctx.target) throw new Error(`the ${grain}ly rollup needs a ${grain}`)
  const start = ctx.target
  const next = nextPeriodStart(start, grain)
  const prev = previousPeriodStart(start, grain)
  const { table, start: startColumn } = TABLES[grain]
  const done = await ctx.ledger.successDays(dailyJob, prev, next)
  const end = ctx.bounds?.to ?? periodBounds(start, grain, ctx.config.timezone).to
  const upserted = await ctx.db.executeQuery(
    CompiledQuery.raw(periodSql(grain, await tenantColumns(ctx.db)), [start, next, prev, done, ctx.runId, ctx.now, end, dateKey(prev), dateKey(start), dateKey(next)]),
  )
  const stale = await ctx.db.executeQuery(
    CompiledQuery.raw(`delete from ${table} where ${startColumn} = $1::date and run_id is distinct from $2::uuid`, [start, ctx.runId]),
  )
  const written = Number(upserted.numAffectedRows ?? 0)
  const coverage = coverageOf(done, start, next)
  if (coverage.missing.length) {
    ctx.log.warn({ missing: coverage.missing }, `${grain} of ${start} is incomplete: ${coverage.missing.length} day(s) without a SUCCESS ${dailyJob}; its rows are marked is_complete = false`)
  }
  return {
    rowsProcessed: written,
    rowsInserted: written,
    rowsDeleted: Number(stale.numAffectedRows ?? 0),
    failedUnits: coverage.missing.length
      ? [{ unit: `${grain} ${start}`, error: `incomplete: ${dailyJob} is not SUCCESS for ${coverage.missing.join(', ')}` }]
      : undefined,
  }
}
