import fs from 'node:fs'
import { sql } from 'kysely'
import { DateTime } from 'luxon'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { sourceSchemaFile } from '../../src/demo/generate.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { builtinJobsDir } from '../../src/paths.js'
import { dateRange } from '../../src/time/calendar.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

// Issue #22: dim_date, WAU/MAU, zero rows and tenant names, each checked against SQL written by
// hand over the facts. Facts are seeded straight into default partitions (fast, and they must
// pass the date_key foreign key); the rollups and dimension syncs run through the runner.

let tw: TestWarehouse
let db: Database
let src: Database
let registry: JobRegistry
useTestDatabases((t) => ({ tw, db, src } = t))

const FROM = '2025-01-01'
const TO = '2025-02-28'
const env = (now: string, timezone = 'UTC') => runEnvFor(db, loadConfig({ ...tw.env, ETL_TIMEZONE: timezone }), () => new Date(now), src)

async function run(name: string, date?: string, now = '2025-03-05T06:00:00Z', timezone = 'UTC') {
  const outcome = await runJob(env(now, timezone), { job: registry.get(name), date, force: true })
  return outcome
}

async function rows<T>(text: string): Promise<T[]> {
  return (await sql.raw<T>(text).execute(db.db)).rows
}

const norm = (list: Array<Record<string, unknown>>) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : typeof v === 'object' ? String(v) : isNaN(Number(v)) ? v : Number(v)])))

beforeAll(async () => {
  registry = await loadRegistry([builtinJobsDir])
  await src.exec(fs.readFileSync(sourceSchemaFile, 'utf8'))
  // tenant 1 active all along (renamed on Feb 5, 12:00), 2 active, 3 inactive, 4 created Feb 10
  await src.exec(`
    insert into tenants values
      (1, 'Acme', 'pro', true, '2024-06-01Z', '2024-06-01Z'), (2, 'Birch', 'free', true, '2024-06-01Z', '2024-06-01Z'),
      (3, 'Cedar', 'free', false, '2024-06-01Z', '2024-06-01Z'), (4, 'Dune', 'pro', true, '2025-02-10T08:00:00Z', '2025-02-10T08:00:00Z');`)
  for (const job of ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_subject']) expect((await run(job, undefined, '2025-01-01T00:00:00Z')).status).toBe('SUCCESS')
  await src.exec(`update tenants set name = 'Acme Learning', updated_at = '2025-02-05T12:00:00Z' where id = 1`)
  expect((await run('sync_dim_tenant', undefined, '2025-02-06T00:00:00Z')).status).toBe('SUCCESS')

  for (const t of ['fact_sessions', 'fact_focus_events', 'fact_homework_events', 'fact_recommendation_events']) {
    await db.exec(`create table if not exists ${t}_default partition of ${t} default`)
  }
  // Sessions: tenant 1 every day, 1–4 of 12 learners by a fixed pattern; tenant 2 weekdays only;
  // tenant 3 (inactive) one day. Homework adds learners who had no session that day.
  await db.exec(`
    insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed,
                               correct_responses, total_responses, started_at, ended_at, recorded_at)
    select row_number() over (), to_char(d, 'YYYYMMDD')::int, t, 100 * t + ((k * 7 + extract(doy from d)::int * 5) % 12),
           600, 2, 3, 4, d + interval '9 hours', d + interval '10 hours', d + interval '10 hours'
    from generate_series('${FROM}'::timestamp, '${TO}'::timestamp, interval '1 day') d
    cross join (values (1), (2)) tt (t)
    cross join generate_series(1, 4) k
    where (t = 1 and k <= 1 + extract(doy from d)::int % 4) or (t = 2 and extract(isodow from d) < 6 and k <= 2);
    insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed,
                               correct_responses, total_responses, started_at, ended_at, recorded_at)
    values (900001, 20250115, 3, 301, 60, 1, 1, 1, '2025-01-15T09:00Z', '2025-01-15T09:01Z', '2025-01-15T09:01Z');
    insert into fact_homework_events (submission_id, date_key, tenant_id, learner_id, status, score, is_late, assigned_at, submitted_at, recorded_at)
    select row_number() over (), to_char(d, 'YYYYMMDD')::int, 1, 150 + extract(isodow from d)::int % 3, 'graded', 80, false,
           d, d + interval '15 hours', d + interval '15 hours'
    from generate_series('${FROM}'::timestamp, '${TO}'::timestamp, interval '1 day') d where extract(isodow from d) in (1, 2, 3);`)
  for (const day of dateRange(FROM, TO)) expect((await run('aggregate_daily_metrics', day)).status).toBe('SUCCESS')
  for (let w = DateTime.fromISO('2025-01-06'); w.toISODate()! <= '2025-02-17'; w = w.plus({ days: 7 })) {
    expect((await run('aggregate_weekly_metrics', w.toISODate()!)).status).toBe('SUCCESS')
  }
  for (const month of ['2025-01-01', '2025-02-01']) expect((await run('aggregate_monthly_metrics', month)).status).not.toBe('FAILED')
})

describe('dim_date', () => {
  it('has one unbroken run of days covering the facts, with ISO weeks, quarters and weekends as luxon computes them', async () => {
    const [span] = await rows<{ n: number; lo: string; hi: string; holes: number }>(`
      select count(*)::int as n, min(date)::text as lo, max(date)::text as hi,
             (max(date) - min(date) + 1 - count(*))::int as holes from dim_date`)
    expect(span!.holes).toBe(0)
    expect(span!.lo <= '2000-01-01' && span!.hi >= '2039-12-31').toBe(true)
    const [uncovered] = await rows<{ n: number }>(`
      select count(*)::int as n from (select date_key from fact_sessions union select date_key from fact_homework_events) f
      where not exists (select 1 from dim_date d where d.date_key = f.date_key)`)
    expect(uncovered!.n).toBe(0)
    const sample = ['2020-12-31', '2021-01-03', '2021-01-04', '2024-02-29', '2024-12-30', '2025-03-31', '2026-03-29']
    const got = await rows<Record<string, unknown>>(`
      select date::text as date, date_key, year, quarter, quarter_start::text as quarter_start, month, month_name, month_start::text as month_start,
             iso_year, iso_week, iso_week_label, week_start::text as week_start, weekday, weekday_name, is_weekend, day_of_month, day_of_year
      from dim_date where date in (${sample.map((d) => `'${d}'`).join(', ')}) order by date`)
    const expected = sample.map((iso) => {
      const d = DateTime.fromISO(iso, { zone: 'UTC' })
      return {
        date: iso, date_key: Number(iso.replaceAll('-', '')), year: d.year, quarter: d.quarter,
        quarter_start: d.startOf('quarter').toISODate(), month: d.month, month_name: d.toFormat('MMMM', { locale: 'en' }),
        month_start: d.startOf('month').toISODate(), iso_year: d.weekYear, iso_week: d.weekNumber,
        iso_week_label: `${d.weekYear}-W${String(d.weekNumber).padStart(2, '0')}`, week_start: d.startOf('week').toISODate(),
        weekday: d.weekday, weekday_name: d.toFormat('cccc', { locale: 'en' }), is_weekend: d.weekday >= 6, day_of_month: d.day, day_of_year: d.ordinal,
      }
    })
    expect(got).toEqual(expected)
  })

  it("is referenced by the facts' date_key: a fact on a day the calendar lacks is refused", async () => {
    const attempt = db.exec(`insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed,
        correct_responses, total_responses, started_at, ended_at, recorded_at)
      values (999999, 20991231, 1, 1, 1, 1, 1, 1, '2099-12-31Z', '2099-12-31Z', '2099-12-31Z')`)
    await expect(attempt).rejects.toThrow(/foreign key|dim_date/)
    const [fks] = await rows<{ n: number }>(`
      select count(*)::int as n from pg_constraint where contype = 'f' and confrelid = 'dim_date'::regclass
        and conrelid in ('fact_sessions'::regclass, 'fact_focus_events'::regclass, 'fact_homework_events'::regclass,
                         'fact_recommendation_events'::regclass, 'fact_learning_progress'::regclass)`)
    expect(fks!.n).toBe(5)
  })

  it('is extended by a fact build to its day and to today in ETL_TIMEZONE, filling the gap, idempotently', async () => {
    await db.exec(`delete from dim_date where date > '2039-12-31'`)
    // 02:00 UTC on Jan 2 2040 is still Jan 1 in Los Angeles: today there is Jan 1
    const first = await run('build_fact_sessions', '2039-12-30', '2040-01-02T02:00:00Z', 'America/Los_Angeles')
    expect(first.status, first.message).toBe('SUCCESS')
    const [after] = await rows<{ hi: string; holes: number }>(`select max(date)::text as hi, (max(date) - min(date) + 1 - count(*))::int as holes from dim_date`)
    expect(after).toEqual({ hi: '2040-01-01', holes: 0 })
    const later = await run('build_fact_sessions', '2040-01-05', '2040-01-06T12:00:00Z', 'America/Los_Angeles')
    expect(later.status, later.message).toBe('SUCCESS')
    const [grown] = await rows<{ hi: string; holes: number; n: number }>(`
      select max(date)::text as hi, (max(date) - min(date) + 1 - count(*))::int as holes, count(*) filter (where date > '2039-12-31')::int as n from dim_date`)
    expect(grown).toEqual({ hi: '2040-01-06', holes: 0, n: 6 })
    await run('build_fact_sessions', '2040-01-05', '2040-01-06T12:00:00Z', 'America/Los_Angeles')
    const [again] = await rows<{ n: number }>(`select count(*)::int as n from dim_date where date > '2039-12-31'`)
    expect(again!.n).toBe(6)
  })
})

/** The days of the range as SQL, for the hand-written queries. */
const DAYS = `(select d::date as d from generate_series('${FROM}'::timestamp, '${TO}'::timestamp, interval '1 day') d)`
const ACTIVITY = `(select tenant_id, learner_id, to_date(date_key::text, 'YYYYMMDD') as d from fact_sessions
                   union all select tenant_id, learner_id, to_date(date_key::text, 'YYYYMMDD') from fact_homework_events)`

describe('daily_metrics: zero rows', () => {
  it('has a row for every active tenant and every day (from its creation), and for any tenant with facts that day', async () => {
    // active: current in dim_tenant, is_active, not deleted, created before the day's end (UTC here)
    const expected = `
      select t.tenant_id, days.d from ${DAYS} days
      join dim_tenant t on t.is_current and t.is_active and not t.is_deleted and t.created_at < (days.d + 1)::timestamp at time zone 'UTC'
      union
      select tenant_id, to_date(date_key::text, 'YYYYMMDD') from fact_sessions where date_key between 20250101 and 20250228
      union
      select tenant_id, to_date(date_key::text, 'YYYYMMDD') from fact_homework_events where date_key between 20250101 and 20250228`
    const actual = `select tenant_id, metric_date from daily_metrics`
    expect(await rows(`(${expected}) except (${actual})`)).toEqual([])
    expect(await rows(`(${actual}) except (${expected})`)).toEqual([])
    const perTenant = await rows<{ tenant_id: string; n: number; first: string }>(`
      select tenant_id, count(*)::int as n, min(metric_date)::text as first from daily_metrics group by 1 order by 1`)
    expect(perTenant.map((r) => [Number(r.tenant_id), r.n, r.first])).toEqual([
      [1, 59, '2025-01-01'], [2, 59, '2025-01-01'], [3, 1, '2025-01-15'], [4, 19, '2025-02-10'],
    ])
  })

  it('zero rows hold zeros (and null rates), and every day matches counts over the facts', async () => {
    const mismatches = await rows(`
      with f as (
        select tenant_id, to_date(date_key::text, 'YYYYMMDD') as d, count(*)::int as sessions from fact_sessions group by 1, 2
      ), a as (
        select tenant_id, d, count(distinct learner_id)::int as learners from ${ACTIVITY} x group by 1, 2
      )
      select m.tenant_id, m.metric_date from daily_metrics m
      left join f on f.tenant_id = m.tenant_id and f.d = m.metric_date
      left join a on a.tenant_id = m.tenant_id and a.d = m.metric_date
      where m.sessions <> coalesce(f.sessions, 0) or m.active_learners <> coalesce(a.learners, 0)`)
    expect(mismatches).toEqual([])
    const [weekend] = await rows<Record<string, unknown>>(`
      select sessions, active_learners, session_minutes::float8 as minutes, correct_rate, homework_submitted
      from daily_metrics where tenant_id = 2 and metric_date = '2025-01-04'`)
    expect(weekend).toEqual({ sessions: 0, active_learners: 0, minutes: 0, correct_rate: null, homework_submitted: 0 })
  })
})

describe('weekly and monthly distinct active learners', () => {
  it('counts a learner active on several days of a week once (WAU), against SQL over the facts, with week-over-week growth', async () => {
    const expected = await rows<Record<string, unknown>>(`
      with wau as (
        select tenant_id, d - (extract(isodow from d)::int - 1) as week_start, count(distinct learner_id) as n from ${ACTIVITY} x group by 1, 2
      ), weeks as (
        select distinct tenant_id, week_start from weekly_metrics
      )
      select w.tenant_id, w.week_start::text as week_start, coalesce(c.n, 0) as wau,
             case when w.week_start > '2025-01-06' and p.n <> 0 then round((coalesce(c.n, 0) - p.n) * 100.0 / p.n, 2) end as growth
      from weeks w
      left join wau c on c.tenant_id = w.tenant_id and c.week_start = w.week_start
      left join wau p on p.tenant_id = w.tenant_id and p.week_start = w.week_start - 7
      order by 1, 2`)
    const actual = await rows<Record<string, unknown>>(`
      select tenant_id, week_start::text as week_start, weekly_active_learners as wau, weekly_active_learners_growth_pct as growth
      from weekly_metrics order by 1, 2`)
    expect(actual.length).toBeGreaterThan(14)
    expect(actual.filter((r) => r.growth !== null).length).toBeGreaterThan(8)
    expect(norm(actual)).toEqual(norm(expected))
    // the point of WAU: tenant 1's learners are active on several days, so WAU < the sum of daily counts
    const [t1] = await rows<{ wau: number; days: number }>(`
      select weekly_active_learners::int as wau, active_learner_days::int as days from weekly_metrics where tenant_id = 1 and week_start = '2025-01-13'`)
    expect(t1!.wau).toBeLessThan(t1!.days)
    expect(t1!.wau).toBeGreaterThan(0)
  })

  it('counts MAU per calendar month from the facts, with month-over-month growth only between complete months', async () => {
    const expected = await rows<Record<string, unknown>>(`
      with mau as (
        select tenant_id, date_trunc('month', d)::date as month_start, count(distinct learner_id) as n from ${ACTIVITY} x group by 1, 2
      )
      select m.tenant_id, m.month_start::text as month_start, coalesce(c.n, 0) as mau,
             case when m.month_start = '2025-02-01' and p.n <> 0 then round((coalesce(c.n, 0) - p.n) * 100.0 / p.n, 2) end as growth
      from (select distinct tenant_id, month_start from monthly_metrics) m
      left join mau c on c.tenant_id = m.tenant_id and c.month_start = m.month_start
      left join mau p on p.tenant_id = m.tenant_id and p.month_start = (m.month_start - interval '1 month')::date
      order by 1, 2`)
    const actual = await rows<Record<string, unknown>>(`
      select tenant_id, month_start::text as month_start, monthly_active_learners as mau, monthly_active_learners_growth_pct as growth
      from monthly_metrics order by 1, 2`)
    expect(norm(actual)).toEqual(norm(expected))
    // the month's ISO weeks, clipped to it, each with its own distinct learners
    const breakdown = await rows<Record<string, unknown>>(`
      select m.tenant_id, m.month_start::text as month_start, (w->>'week_start') as week_start, (w->>'active_learners')::int as n
      from monthly_metrics m cross join lateral jsonb_array_elements(m.weekly_breakdown) w order by 1, 2, 3`)
    const byHand = await rows<Record<string, unknown>>(`
      with weeks as (
        select distinct m.tenant_id, m.month_start, (w->>'week_start') as week_start
        from monthly_metrics m cross join lateral jsonb_array_elements(m.weekly_breakdown) w
      )
      select w.tenant_id, w.month_start::text as month_start, w.week_start, (select count(distinct x.learner_id) from ${ACTIVITY} x
               where x.tenant_id = w.tenant_id and x.d - (extract(isodow from x.d)::int - 1) = w.week_start::date
                 and date_trunc('month', x.d)::date = w.month_start)::int as n
      from weeks w order by 1, 2, 3`)
    expect(norm(breakdown)).toEqual(norm(byHand))
    expect(breakdown.some((r) => Number(r.n) > 0)).toBe(true)
    const jan = actual.find((r) => Number(r.tenant_id) === 1 && r.month_start === '2025-01-01')
    expect(jan?.growth).toBeNull() // December was never rolled up: no comparison
    const feb = actual.find((r) => Number(r.tenant_id) === 1 && r.month_start === '2025-02-01')
    expect(feb?.growth).not.toBeNull()
  })
})

describe('tenant names beside keys', () => {
  it('gives each rollup row the name of the dim_tenant version valid at the end of its period', async () => {
    const versionAtEnd = (alias: string, end: string) => `
      (select d.name from dim_tenant d where d.tenant_id = ${alias}.tenant_id and d.effective_from < ${end}
         and (d.effective_to is null or d.effective_to >= ${end}))`
    const wrong = await rows(`
      select 'daily' as t, tenant_id, metric_date::text from daily_metrics m
        where tenant_name is distinct from ${versionAtEnd('m', "(m.metric_date + 1)::timestamp at time zone 'UTC'")}
      union all
      select 'weekly', tenant_id, week_start::text from weekly_metrics m
        where tenant_name is distinct from ${versionAtEnd('m', "(m.week_start + 7)::timestamp at time zone 'UTC'")}
      union all
      select 'monthly', tenant_id, month_start::text from monthly_metrics m
        where tenant_name is distinct from ${versionAtEnd('m', "(m.month_start + interval '1 month')::timestamp at time zone 'UTC'")}`)
    expect(wrong).toEqual([])
    const names = await rows<{ d: string; name: string }>(`
      select metric_date::text as d, tenant_name as name from daily_metrics where tenant_id = 1 and metric_date in ('2025-02-04', '2025-02-05') order by 1`)
    expect(names).toEqual([{ d: '2025-02-04', name: 'Acme' }, { d: '2025-02-05', name: 'Acme Learning' }])
    const months = await rows<{ name: string }>(`select tenant_name as name from monthly_metrics where tenant_id = 1 order by month_start`)
    expect(months.map((r) => r.name)).toEqual(['Acme', 'Acme Learning'])
  })

  it('names the tenant tenant_id in facts, dim_tenant and rollups alike, so one join key serves all', async () => {
    const [keys] = await rows<{ n: number; same: boolean }>(`
      select count(*)::int as n, bool_and(tenant_id = id) as same from dim_tenant`)
    expect(keys).toEqual({ n: 5, same: true })
    const joined = await rows<{ n: number }>(`
      select count(*)::int as n from daily_metrics m join dim_tenant t using (tenant_id) join fact_sessions f using (tenant_id, date_key)
      where t.is_current and m.metric_date = '2025-01-15'`)
    expect(joined[0]!.n).toBeGreaterThan(0)
  })
})
