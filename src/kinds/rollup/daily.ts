import { CompiledQuery, sql } from 'kysely'
import type { JobContext, JobResult } from '../../engine/job.js'
import { dateKey } from '../../time/calendar.js'
import { activeTenantsSql, tenantColumns, tenantNamesSql } from './tenants.js'

/** The daily_metrics columns one run writes, in insert order. */
const COLUMNS = [
  'tenant_id', 'date_key', 'metric_date', 'active_learners', 'sessions', 'session_minutes', 'activities_completed',
  'correct_responses', 'total_responses', 'correct_rate', 'homework_submitted', 'homework_graded', 'homework_score_sum',
  'homework_avg_score', 'recommendations_made', 'recommendations_accepted', 'recommendation_accept_rate', 'focus_events',
  'avg_focus_score', 'new_learners', 'tenant_name', 'run_id', 'computed_at',
] as const

/** What the daily SQL can read besides the facts: dim_learner, and dim_tenant's columns. */
interface Dimensions {
  readonly learners: boolean
  readonly tenantColumns: ReadonlySet<string>
}

/**
 * One statement: every tenant's numbers for one day from the fact tables (by date_key), new
 * learners from dim_learner (created inside the day's bounds), a zero row for every active
 * tenant without activity, and the tenant's name then. `$1` date_key, `$2` the day, `$3`/`$4`
 * the bounds, `$5` the run id, `$6` the run's time.
 */
function dailySql(dims: Dimensions): string {
  const newLearners = dims.learners
    ? `select tenant_id, count(distinct id)::int as n from dim_learner where created_at >= $3::timestamptz and created_at < $4::timestamptz group by tenant_id`
    : `select null::bigint as tenant_id, 0 as n where $3::timestamptz > $4::timestamptz` // no dim_learner yet: no new learners
  const updates = COLUMNS.filter((c) => c !== 'tenant_id' && c !== 'date_key').map((c) => `${c} = excluded.${c}`)
  return `
    insert into daily_metrics (${COLUMNS.join(', ')})
    with s as (
      select tenant_id, count(*)::int as sessions, round(sum(duration_seconds) / 60.0, 2) as minutes,
             sum(activities_completed) as activities, sum(correct_responses) as correct, sum(total_responses) as total
      from fact_sessions where date_key = $1 group by tenant_id
    ), h as (
      select tenant_id, count(*)::int as submitted, count(score)::int as graded, coalesce(sum(score), 0) as score_sum
      from fact_homework_events where date_key = $1 group by tenant_id
    ), r as (
      select tenant_id, count(*)::int as made, (count(*) filter (where accepted))::int as accepted
      from fact_recommendation_events where date_key = $1 group by tenant_id
    ), f as (
      select tenant_id, count(*)::int as events, round(avg(focus_score), 2) as avg_score
      from fact_focus_events where date_key = $1 group by tenant_id
    ), a as (
      select tenant_id, count(distinct learner_id)::int as learners from (
        select tenant_id, learner_id from fact_sessions where date_key = $1
        union all
        select tenant_id, learner_id from fact_homework_events where date_key = $1
      ) x group by tenant_id
    ), n as (${newLearners}
    ), act as (${activeTenantsSql(dims.tenantColumns, '$4::timestamptz')}
    ), names as (${tenantNamesSql(dims.tenantColumns, '$4::timestamptz')}
    ), t as (
      select tenant_id from s union select tenant_id from h union select tenant_id from r
      union select tenant_id from f union select tenant_id from n union select tenant_id from act
    )
    select t.tenant_id, $1, $2::date, coalesce(a.learners, 0), coalesce(s.sessions, 0), coalesce(s.minutes, 0),
           coalesce(s.activities, 0), coalesce(s.correct, 0), coalesce(s.total, 0),
           round(s.correct::numeric / nullif(s.total, 0), 4),
           coalesce(h.submitted, 0), coalesce(h.graded, 0), coalesce(h.score_sum, 0), round(h.score_sum / nullif(h.graded, 0), 2),
           coalesce(r.made, 0), coalesce(r.accepted, 0), round(r.accepted::numeric / nullif(r.made, 0), 4),
           coalesce(f.events, 0), f.avg_score, coalesce(n.n, 0), names.name, $5::uuid, $6::timestamptz
    from t
    left join s on s.tenant_id = t.tenant_id left join h on h.tenant_id = t.tenant_id
    left join r on r.tenant_id = t.tenant_id left join f on f.tenant_id = t.tenant_id
    left join a on a.tenant_id = t.tenant_id left join n on n.tenant_id = t.tenant_id
    left join names on names.tenant_id = t.tenant_id
    on conflict (tenant_id, date_key) do update set ${updates.join(', ')}`
}

/**
 * aggregate_daily_metrics: upserts one row per tenant for the day (every active tenant, and any
 * with facts), then removes the rows of tenants this run no longer produced (their facts were
 * rebuilt away, or the tenant is no longer active). Re-running is idempotent.
 */
export async function aggregateDay(ctx: JobContext): Promise<JobResult> {
  if (!ctx.target || !ctx.bounds) throw new Error('the daily rollup needs a day')
  const { rows } = await sql<{ present: boolean }>`select to_regclass('dim_learner') is not null as present`.execute(ctx.db)
  const dims = { learners: Boolean(rows[0]?.present), tenantColumns: await tenantColumns(ctx.db) }
  const dk = dateKey(ctx.target)
  const upserted = await ctx.db.executeQuery(
    CompiledQuery.raw(dailySql(dims), [dk, ctx.target, ctx.bounds.from, ctx.bounds.to, ctx.runId, ctx.now]),
  )
  const stale = await sql`delete from daily_metrics where date_key = ${dk} and run_id is distinct from ${ctx.runId}::uuid`.execute(ctx.db)
  const written = Number(upserted.numAffectedRows ?? 0)
  return { rowsProcessed: written, rowsInserted: written, rowsDeleted: Number(stale.numAffectedRows ?? 0) }
}
