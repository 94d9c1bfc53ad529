import { sql, type RawBuilder } from 'kysely'
import { demoDay, type DemoPlan } from './plan.js'
import { computeOnce, randomFor } from './random.js'

/**
 * Each learner's stretch of activity inside the window, as a subquery to select from: from
 * sign-up (or the window's start) until deletion, deactivation of the learner or of the tenant
 * (or the window's end). Learners whose stretch is empty are left out, so whatever is generated
 * from it never predates a learner or outlives a deleted one. `engagement` (0.4–1.6) scales how
 * often a learner shows up; `ability` (0.45–0.95) how often they answer right.
 */
export function learnerSpans(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'learners', sql`l.id`)
  return sql`(
    select l.id as learner_id, l.tenant_id, span.active_from, span.active_to,
      0.4 + 1.2 * ${r('engagement')} as engagement, 0.45 + 0.5 * ${r('ability')} as ability
    from learners l
    join tenants t on t.id = l.tenant_id
    cross join lateral (
      select greatest(l.created_at, ${plan.windowStart}) as active_from,
        least(l.deleted_at, case when not l.is_active then l.updated_at end,
              case when not t.is_active then t.updated_at end, ${plan.windowEnd}) as active_to
    ) span
    where span.active_to > span.active_from
    ${computeOnce}
  )`
}

/** Every day of the window for each row of `from`, as columns `k` (0 = first day) and `day`. */
export function eachDemoDay(plan: DemoPlan): RawBuilder<unknown> {
  return sql`cross join generate_series(0, ${sql.lit(plan.days - 1)}) k cross join lateral (select ${demoDay(plan, sql`k`)} as day) d`
}

/** Less happens at weekends: the share of a weekday's activity on `day`. */
export function weekdayShare(saturday: number, sunday: number): RawBuilder<number> {
  return sql<number>`(case extract(isodow from day) when 6 then ${sql.lit(saturday)} when 7 then ${sql.lit(sunday)} else 1 end)`
}
