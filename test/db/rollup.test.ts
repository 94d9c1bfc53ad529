import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { builtinJobsDir } from '../../src/paths.js'
import { addDays, dateKey, dateRange } from '../../src/time/calendar.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let registry: JobRegistry

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  registry = await loadRegistry([builtinJobsDir])
  // fixtures go straight into the facts: one default partition each instead of the builds' day partitions
  for (const t of ['fact_sessions', 'fact_focus_events', 'fact_homework_events', 'fact_recommendation_events']) {
    await db.exec(`create table if not exists ${t}_default partition of ${t} default`)
  }
  await db.exec(`create table dim_learner (learner_key bigint generated always as identity, id bigint, tenant_id bigint,
    created_at timestamptz, is_current boolean default true)`)
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await db.exec(`truncate etl_job_runs, daily_metrics, weekly_metrics, monthly_metrics, dim_learner,
    fact_sessions, fact_focus_events, fact_homework_events, fact_recommendation_events`)
})

const env = (timezone = 'UTC') => runEnvFor(db, loadConfig({ ...tw.env, ETL_TIMEZONE: timezone }), () => new Date('2026-01-01T00:00:00Z'))

let nextId = 1
/** A session of `minutes` on a day, 4 of 5 responses correct. */
async function session(day: string, tenant: number, learner: number, minutes = 10) {
  await sql`insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed,
      correct_responses, total_responses, started_at, ended_at, recorded_at)
    values (${nextId++}, ${dateKey(day)}, ${tenant}, ${learner}, ${minutes * 60}, 3, 4, 5, ${`${day}T12:00:00Z`}::timestamptz,
      ${`${day}T12:10:00Z`}::timestamptz, ${`${day}T12:10:00Z`}::timestamptz)`.execute(db.db)
}
async function homework(day: string, tenant: number, learner: number, score: number | null) {
  await sql`insert into fact_homework_events (submission_id, date_key, tenant_id, learner_id, status, score, is_late, assigned_at, submitted_at, recorded_at)
    values (${nextId++}, ${dateKey(day)}, ${tenant}, ${learner}, ${score === null ? 'submitted' : 'graded'}, ${score}, false,
      ${`${day}T08:00:00Z`}::timestamptz, ${`${day}T12:00:00Z`}::timestamptz, ${`${day}T12:00:00Z`}::timestamptz)`.execute(db.db)
}
async function recommendation(day: string, tenant: number, learner: number, accepted: boolean | null) {
  await sql`insert into fact_recommendation_events (recommendation_id, date_key, tenant_id, learner_id, accepted, recommended_at)
    values (${nextId++}, ${dateKey(day)}, ${tenant}, ${learner}, ${accepted}, ${`${day}T12:00:00Z`}::timestamptz)`.execute(db.db)
}

async function runDays(from: string, to: string, timezone = 'UTC') {
  const job = registry.get('aggregate_daily_metrics')
  for (const day of dateRange(from, to)) {
    const outcome = await runJob(env(timezone), { job, date: day })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
  }
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))

async function weekly(tenant: number, weekStart: string) {
  const { rows } = await sql<Record<string, unknown>>`select *, missing_days::text[] as missing from weekly_metrics where tenant_id = ${tenant} and week_start = ${weekStart}::date`.execute(db.db)
  return rows[0]
}
async function monthly(tenant: number, monthStart: string) {
  const { rows } = await sql<Record<string, unknown>>`select * from monthly_metrics where tenant_id = ${tenant} and month_start = ${monthStart}::date`.execute(db.db)
  return rows[0]
}

describe('aggregate_daily_metrics', () => {
  it('computes one row per tenant and day from the facts, rates null where there is nothing to divide', async () => {
    await session('2025-01-15', 1, 10, 30)
    await session('2025-01-15', 1, 10, 15)
    await session('2025-01-15', 1, 11, 15)
    await homework('2025-01-15', 1, 12, 80)
    await homework('2025-01-15', 1, 12, 90)
    await homework('2025-01-15', 1, 10, null)
    await recommendation('2025-01-15', 1, 10, true)
    await recommendation('2025-01-15', 1, 10, false)
    await recommendation('2025-01-15', 1, 11, null)
    await recommendation('2025-01-15', 2, 20, false)
    await session('2025-01-14', 1, 10) // another day: not counted
    await db.exec(`insert into dim_learner (id, tenant_id, created_at) values
      (11, 1, '2025-01-15T00:00:00Z'), (11, 1, '2025-01-15T00:00:00Z'), (12, 1, '2025-01-15T23:59:59Z'), (13, 1, '2025-01-16T00:00:00Z')`)
    await runDays('2025-01-15', '2025-01-15')
    const { rows } = await sql<Record<string, unknown>>`select * from daily_metrics order by tenant_id`.execute(db.db)
    expect(rows).toHaveLength(2)
    const t1 = rows[0]!
    expect({
      active: t1.active_learners, sessions: t1.sessions, minutes: num(t1.session_minutes), activities: num(t1.activities_completed),
      rate: num(t1.correct_rate), submitted: t1.homework_submitted, graded: t1.homework_graded, avgScore: num(t1.homework_avg_score),
      made: t1.recommendations_made, accepted: t1.recommendations_accepted, acceptRate: num(t1.recommendation_accept_rate),
      newLearners: t1.new_learners, date: t1.metric_date, key: t1.date_key,
    }).toEqual({
      active: 3, sessions: 3, minutes: 60, activities: 9, rate: 0.8, submitted: 3, graded: 2, avgScore: 85,
      made: 3, accepted: 1, acceptRate: 0.3333, newLearners: 2, date: '2025-01-15', key: 20250115,
    })
    const t2 = rows[1]!
    expect([t2.sessions, num(t2.correct_rate), num(t2.homework_avg_score), num(t2.recommendation_accept_rate), t2.active_learners]).toEqual([0, null, null, 0, 0])
  })

  it('re-runs a day with --force to the same rows and drops a tenant whose facts are gone', async () => {
    await session('2025-01-15', 1, 10)
    await session('2025-01-15', 2, 20)
    await runDays('2025-01-15', '2025-01-15')
    await db.exec(`delete from fact_sessions where tenant_id = 2`)
    const again = await runJob(env(), { job: registry.get('aggregate_daily_metrics'), date: '2025-01-15', force: true })
    expect(again.status).toBe('SUCCESS')
    expect(again.result).toMatchObject({ rowsInserted: 1, rowsDeleted: 1 })
    const { rows } = await sql<{ tenant_id: number }>`select tenant_id from daily_metrics`.execute(db.db)
    expect(rows.map((r) => Number(r.tenant_id))).toEqual([1])
  })

  it('counts new learners by the day bounds in ETL_TIMEZONE on a 23-hour DST day', async () => {
    await db.exec(`insert into dim_learner (id, tenant_id, created_at) values
      (1, 1, '2025-03-09T04:30:00Z'),  -- 23:30 EST, March 8
      (2, 1, '2025-03-09T05:30:00Z'),  -- 00:30 EST, March 9
      (3, 1, '2025-03-10T03:30:00Z'),  -- 23:30 EDT, still March 9
      (4, 1, '2025-03-10T04:30:00Z')   -- 00:30 EDT, March 10`)
    await runDays('2025-03-08', '2025-03-10', 'America/New_York')
    const { rows } = await sql<{ d: string; n: number }>`select metric_date as d, new_learners as n from daily_metrics order by 1`.execute(db.db)
    expect(rows.map((r) => [r.d, r.n])).toEqual([['2025-03-08', 1], ['2025-03-09', 2], ['2025-03-10', 1]])
  })
})

describe('aggregate_weekly_metrics', () => {
  const weeklyJob = () => registry.get('aggregate_weekly_metrics')

  it('sums a complete week, averages per day and computes week-over-week growth; null without a previous week', async () => {
    for (const day of dateRange('2025-01-06', '2025-01-12')) await session(day, 1, 10) // 7 sessions, 70 min, 1 learner/day
    for (const day of dateRange('2025-01-13', '2025-01-19')) {
      await session(day, 1, 10)
      await session(day, 1, 11, 20) // 14 sessions, 210 min, 2 learners/day
    }
    for (let i = 0; i < 3; i++) await session('2025-01-06', 2, 20) // tenant 2: only the week before
    await session('2025-01-15', 3, 30) // tenant 3: new this week
    await runDays('2025-01-06', '2025-01-19')
    // any day of the week selects it: the runner makes it the Monday
    const outcome = await runJob(env(), { job: weeklyJob(), date: '2025-01-16' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.target).toBe('2025-01-13')

    const t1 = (await weekly(1, '2025-01-13'))!
    expect({
      end: t1.week_end, days: t1.days_in_period, covered: t1.days_covered, complete: t1.is_complete, missing: t1.missing,
      sessions: num(t1.sessions), minutes: num(t1.session_minutes), learnerDays: num(t1.active_learner_days),
      avgLearners: num(t1.avg_daily_active_learners), avgSessions: num(t1.avg_daily_sessions), avgMinutes: num(t1.avg_daily_session_minutes),
      rate: num(t1.correct_rate),
      gSessions: num(t1.sessions_growth_pct), gMinutes: num(t1.session_minutes_growth_pct), gLearners: num(t1.active_learners_growth_pct),
      gNew: num(t1.new_learners_growth_pct),
    }).toEqual({
      end: '2025-01-19', days: 7, covered: 7, complete: true, missing: [],
      sessions: 14, minutes: 210, learnerDays: 14, avgLearners: 2, avgSessions: 2, avgMinutes: 30, rate: 0.8,
      gSessions: 100, gMinutes: 200, gLearners: 100, gNew: null, // no new learners either week: a zero base
    })
    const t2 = (await weekly(2, '2025-01-13'))!
    expect([num(t2.sessions), num(t2.sessions_growth_pct)]).toEqual([0, -100])
    const t3 = (await weekly(3, '2025-01-13'))!
    expect([num(t3.sessions), num(t3.sessions_growth_pct), num(t3.session_minutes_growth_pct)]).toEqual([1, null, null])
  })

  it('gives null growth, not Infinity, against a previous week whose base is zero', async () => {
    for (const day of dateRange('2025-01-06', '2025-01-12')) await homework(day, 1, 10, 50) // homework, no sessions
    for (const day of dateRange('2025-01-13', '2025-01-19')) {
      await homework(day, 1, 10, 70)
      await homework(day, 1, 10, 70)
      await session(day, 1, 10)
    }
    await runDays('2025-01-06', '2025-01-19')
    await runJob(env(), { job: weeklyJob(), date: '2025-01-13' })
    const t1 = (await weekly(1, '2025-01-13'))!
    expect([num(t1.sessions), num(t1.sessions_growth_pct), num(t1.session_minutes_growth_pct), num(t1.homework_growth_pct), num(t1.homework_avg_score)])
      .toEqual([7, null, null, 100, 70])
  })

  it('marks a week whose days are not all SUCCESS incomplete, names the missing days and ends PARTIAL', async () => {
    for (const day of dateRange('2025-01-13', '2025-01-19')) await session(day, 1, 10)
    await runDays('2025-01-13', '2025-01-17') // Saturday and Sunday not rolled up yet
    const outcome = await runJob(env(), { job: weeklyJob(), date: '2025-01-19' })
    expect(outcome.status).toBe('PARTIAL')
    expect(outcome.message).toMatch(/incomplete: aggregate_daily_metrics is not SUCCESS for 2025-01-18, 2025-01-19/)
    const t1 = (await weekly(1, '2025-01-13'))!
    expect([t1.is_complete, t1.days_covered, t1.missing, num(t1.sessions), num(t1.avg_daily_sessions), num(t1.sessions_growth_pct)])
      .toEqual([false, 5, ['2025-01-18', '2025-01-19'], 5, 1, null])
    const [row] = await ledgerRows(db, 'aggregate_weekly_metrics')
    expect(row!.failed_units).toEqual([{ unit: 'week 2025-01-13', error: expect.stringContaining('2025-01-18') }])

    // once the missing days are done, the next run completes the week (PARTIAL is not SUCCESS, so it is not skipped)
    await runDays('2025-01-18', '2025-01-19')
    const again = await runJob(env(), { job: weeklyJob(), date: '2025-01-19' })
    expect(again.status).toBe('SUCCESS')
    const done = (await weekly(1, '2025-01-13'))!
    expect([done.is_complete, done.days_covered, num(done.sessions), num(done.avg_daily_sessions)]).toEqual([true, 7, 7, 1])
  })
})

describe('aggregate_monthly_metrics', () => {
  const monthlyJob = () => registry.get('aggregate_monthly_metrics')

  it('breaks a month that starts on a Wednesday into its ISO weeks clipped to it, with month-over-month growth', async () => {
    // September 2025: 30 days, one session a day; October 2025 (starts Wednesday): two a day, plus 4 on Oct 31
    for (const day of dateRange('2025-09-01', '2025-09-30')) await session(day, 1, 10)
    for (const day of dateRange('2025-10-01', '2025-10-31')) {
      await session(day, 1, 10)
      await session(day, 1, 11)
    }
    for (let i = 0; i < 4; i++) await session('2025-10-31', 1, 12)
    await runDays('2025-09-01', '2025-10-31')
    const outcome = await runJob(env(), { job: monthlyJob(), date: '2025-10-20' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.target).toBe('2025-10-01')
    const m = (await monthly(1, '2025-10-01'))!
    // 31*2 + 4 = 66 sessions; September 30; growth (66-30)/30 = 120 %
    // learners/day: October (30*2 + 3)/31 = 2.0323 vs September 1 → 103.23 %
    expect({
      end: m.month_end, days: m.days_in_period, complete: m.is_complete, sessions: num(m.sessions), avgSessions: num(m.avg_daily_sessions),
      avgLearners: num(m.avg_daily_active_learners), gSessions: num(m.sessions_growth_pct), gLearners: num(m.active_learners_growth_pct),
    }).toEqual({ end: '2025-10-31', days: 31, complete: true, sessions: 66, avgSessions: 2.13, avgLearners: 2.03, gSessions: 120, gLearners: 103.23 })
    const weeks = m.weekly_breakdown as Array<{ week_start: string; from: string; to: string; days: number; sessions: number }>
    expect(weeks.map((w) => [w.week_start, w.from, w.to, w.days, Number(w.sessions)])).toEqual([
      ['2025-09-29', '2025-10-01', '2025-10-05', 5, 10],
      ['2025-10-06', '2025-10-06', '2025-10-12', 7, 14],
      ['2025-10-13', '2025-10-13', '2025-10-19', 7, 14],
      ['2025-10-20', '2025-10-20', '2025-10-26', 7, 14],
      ['2025-10-27', '2025-10-27', '2025-10-31', 5, 14],
    ])
  })

  it('takes a DST month in America/New_York day by day, with null growth when the previous month was never rolled up', async () => {
    // March 2025 starts on a Saturday and loses an hour on Sunday the 9th
    await db.exec(`insert into dim_learner (id, tenant_id, created_at) values
      (1, 1, '2025-03-01T05:30:00Z'),  -- 00:30 EST, March 1
      (2, 1, '2025-03-09T04:30:00Z'),  -- 23:30 EST, March 8
      (3, 1, '2025-03-10T03:30:00Z'),  -- 23:30 EDT, March 9
      (4, 1, '2025-04-01T03:30:00Z'),  -- 23:30 EDT, March 31
      (5, 1, '2025-04-01T04:30:00Z')   -- 00:30 EDT, April 1: not March`)
    for (const day of dateRange('2025-03-01', '2025-03-31')) await session(day, 1, 10)
    await runDays('2025-03-01', '2025-03-31', 'America/New_York')
    const outcome = await runJob(env('America/New_York'), { job: monthlyJob(), date: '2025-03-09' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    const m = (await monthly(1, '2025-03-01'))!
    expect([m.days_in_period, m.is_complete, num(m.new_learners), num(m.sessions), num(m.avg_daily_sessions), num(m.sessions_growth_pct), num(m.new_learners_growth_pct)])
      .toEqual([31, true, 4, 31, 1, null, null])
    const weeks = m.weekly_breakdown as Array<{ week_start: string; days: number; new_learners: number }>
    expect(weeks.map((w) => [w.week_start, w.days, Number(w.new_learners)])).toEqual([
      ['2025-02-24', 2, 1],
      ['2025-03-03', 7, 2],
      ['2025-03-10', 7, 0],
      ['2025-03-17', 7, 0],
      ['2025-03-24', 7, 0],
      ['2025-03-31', 1, 1],
    ])
    expect(weeks.reduce((n, w) => n + w.days, 0)).toBe(31)
  })

  it('re-runs a month idempotently: upsert by key, same content', async () => {
    for (const day of dateRange('2025-02-01', '2025-02-28')) await session(day, 1, 10)
    await runDays('2025-02-01', '2025-02-28')
    await runJob(env(), { job: monthlyJob(), date: '2025-02-01' })
    const snapshot = async () =>
      (await sql<{ t: string }>`select string_agg(row(tenant_id, month_start, sessions, avg_daily_sessions, weekly_breakdown)::text, '|') as t from monthly_metrics`.execute(db.db)).rows[0]!.t
    const before = await snapshot()
    const again = await runJob(env(), { job: monthlyJob(), date: '2025-02-14', force: true })
    expect(again.status).toBe('SUCCESS')
    expect(await snapshot()).toBe(before)
    expect(addDays('2025-02-28', 1)).toBe('2025-03-01')
  })
})
