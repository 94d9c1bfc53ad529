import { sql, type RawBuilder } from 'kysely'
import type { DemoPlan } from './plan.js'
import { computeOnce, intBetween, nameInTurn, pickFrom, randomFor, seconds, secondsWithin, type Random } from './random.js'

const DAY = 86_400

const TENANT_NAMES = [
  'Northwind Academy', 'Riverside Primary', 'Maple Leaf School', 'Harbor Learning Centre', 'Summit Tutors',
  'Oakwood Elementary', 'Cedar Hill Prep', 'Lakeside Charter', 'Bright Futures', 'Westbrook Middle School',
]
const PLANS = ['free', 'standard', 'premium']
const FIRST_NAMES = [
  'Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonah', 'Kemi', 'Liam', 'Maya', 'Noah',
  'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wen', 'Xavi', 'Yara', 'Zoe', 'Aiko', 'Bruno',
  'Carmen', 'Dmitri', 'Esme', 'Felix', 'Gita', 'Hana', 'Ivan', 'Jada', 'Kofi', 'Lena', 'Mateo', 'Nia',
]
const LAST_NAMES = [
  'Adams', 'Bauer', 'Costa', 'Diallo', 'Evans', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Lopez',
  'Moreau', 'Nakamura', 'Okafor', 'Patel', 'Quist', 'Rossi', 'Silva', 'Tanaka', 'Usman', 'Varga', 'Weber', 'Yilmaz',
]

/** Tenants are of very different sizes: a skewed pick of 1..tenants. */
function tenantOf(plan: DemoPlan, r: RawBuilder<number>): RawBuilder<number> {
  return sql<number>`(1 + floor(${sql.lit(plan.tenants)} * (${r} + ${r} * ${r}) / 2))::int`
}

/**
 * When a person row last changed, by its `lifecycle`: inside the window for an update or a
 * soft delete (a new dimension version for the nightly sync), around the window's start for a
 * deactivation, so some inactive people still have activity early in the window. Null: never.
 */
function changedAt(plan: DemoPlan, r: Random): RawBuilder<Date> {
  const { windowStart: ws, windowSeconds: w } = plan
  return sql<Date>`case lifecycle
    when 'updated' then ${ws} + ${secondsWithin(r('changed'), w)}
    when 'deleted' then ${ws} + ${secondsWithin(r('changed'), w)}
    when 'inactive' then greatest(created_at + ${seconds(DAY)}, ${ws} - ${seconds(w)} + ${secondsWithin(r('changed'), 2 * w)})
  end`
}

/** Old rows were created 30 to 430 days before the window; new ones inside its first 80 %. */
function createdAt(plan: DemoPlan, r: Random): RawBuilder<Date> {
  const { windowStart: ws, windowSeconds: w } = plan
  return sql<Date>`case when lifecycle = 'new'
    then ${ws} + ${secondsWithin(r('created'), Math.floor(w * 0.8))}
    else ${ws} - ${seconds(30 * DAY)} - ${secondsWithin(r('created'), 400 * DAY)} end`
}

export function insertTenants(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'tenants', sql`g`)
  const { windowStart: ws, windowEnd: we, windowSeconds: w } = plan
  const last = sql.lit(plan.tenants)
  // the last tenant cancelled the day before the demo's last day: its dimension row changes
  // and its learners stop
  return sql`
    insert into tenants (id, name, plan, is_active, created_at, updated_at)
    select g, ${nameInTurn(TENANT_NAMES, sql`g`)}, ${pickFrom(r('plan'), PLANS)}, g <> ${last}, created_at,
      case
        when g = ${last} then ${we} - ${seconds(36 * 3600)} + ${secondsWithin(r('deactivated'), 12 * 3600)}
        when ${r('updated')} < 0.4 then ${ws} + ${secondsWithin(r('changed'), w)}
        else created_at
      end
    from (
      select g, ${ws} - ${seconds(400 * DAY)} - ${secondsWithin(r('created'), 800 * DAY)} as created_at
      from generate_series(1, ${last}) g
      ${computeOnce}
    ) t`
}

export function insertLearners(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'learners', sql`g`)
  return sql`
    insert into learners (id, tenant_id, first_name, grade_level, is_active, created_at, updated_at, deleted_at)
    select g, ${tenantOf(plan, r('tenant'))}, ${pickFrom(r('name'), FIRST_NAMES)}, ${intBetween(r('grade'), 1, 12)},
      lifecycle in ('new', 'active', 'updated'), created_at, coalesce(changed_at, created_at),
      case when lifecycle = 'deleted' then changed_at end
    from (
      select g, lifecycle, ${createdAt(plan, r)} as created_at
      from (
        select g, case
            when ${r('lifecycle')} < 0.05 then 'new'
            when ${r('lifecycle')} < 0.07 then 'deleted'
            when ${r('lifecycle')} < 0.15 then 'inactive'
            when ${r('lifecycle')} < 0.40 then 'updated'
            else 'active'
          end as lifecycle
        from generate_series(1, ${sql.lit(plan.learners)}) g
        ${computeOnce}
      ) chosen
      ${computeOnce}
    ) born
    cross join lateral (select ${changedAt(plan, r)} as changed_at ${computeOnce}) changed`
}

export function insertUsers(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'users', sql`g`)
  return sql`
    insert into users (id, tenant_id, role, full_name, email, is_active, created_at, updated_at)
    select g, tenant_id, role, first || ' ' || last,
      lower(first || '.' || last || g || '@tenant' || tenant_id || '.example.org'),
      lifecycle <> 'inactive', created_at, coalesce(changed_at, created_at)
    from (
      select g, lifecycle, ${createdAt(plan, r)} as created_at, ${tenantOf(plan, r('tenant'))} as tenant_id,
        case when ${r('role')} < 0.35 then 'teacher' else 'parent' end as role,
        ${pickFrom(r('first'), FIRST_NAMES)} as first, ${pickFrom(r('last'), LAST_NAMES)} as last
      from (
        select g, case
            when ${r('lifecycle')} < 0.06 then 'inactive'
            when ${r('lifecycle')} < 0.26 then 'updated'
            else 'active'
          end as lifecycle
        from generate_series(1, ${sql.lit(plan.users)}) g
        ${computeOnce}
      ) chosen
      ${computeOnce}
    ) born
    cross join lateral (select ${changedAt(plan, r)} as changed_at ${computeOnce}) changed`
}
