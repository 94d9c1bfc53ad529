import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { ensureTenantSeriesTable } from '../../src/kinds/series/table.js'
import { readSeries } from '../../src/kinds/series/time-series.js'
import { dateKey, dateRange } from '../../src/time/calendar.js'
import type { TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'
import { useSeriesWarehouse } from '../helpers/series-warehouse.js'
import { partsOf, storageMode } from '../helpers/storage.js'

let tw: TestWarehouse
let db: Database
let registry: JobRegistry

useSeriesWarehouse((w) => ({ tw, db, registry } = w))

beforeEach(async () => {
  await db.exec(`truncate etl_job_runs, daily_metrics, dim_tenant;
    drop schema if exists analytics_company_1 cascade; drop schema if exists analytics_company_2 cascade;
    drop schema if exists analytics_company_3 cascade; drop schema if exists analytics_company_4 cascade;
    insert into dim_tenant (id, name, is_active, is_current) values
      (1, 'Acme', true, true), (2, 'Beta', true, true), (3, 'Gone', false, true), (4, 'Old name', true, false), (4, 'Delta', true, true);`)
})

const job = () => registry.get('populate_tenant_time_series')
const run = (now: string, parameters: Record<string, unknown> = {}, timezone = 'UTC') =>
  runJob(runEnvFor(db, loadConfig({ ...tw.env, ETL_TIMEZONE: timezone }), () => new Date(now)), { job: job(), parameters })

/** One daily_metrics row: `sessions` sessions on the day. */
async function day(tenant: number, date: string, sessions: number) {
  await sql`insert into daily_metrics (tenant_id, date_key, metric_date, sessions, session_minutes)
    values (${tenant}, ${dateKey(date)}, ${date}::date, ${sessions}, ${sessions * 10})`.execute(db.db)
}

async function rows(tenant: number, period: string, seriesName = 'sessions') {
  const { rows } = await sql<{ ts: string; value: number; running_sum: number; window_start: string; granularity: string }>`
    select to_char(ts, 'YYYY-MM-DD') as ts, value::float8 as value, running_sum::float8 as running_sum,
           to_char(window_start, 'YYYY-MM-DD') as window_start, granularity
    from ${sql.table(`analytics_company_${tenant}.metrics_time_series`)}
    where period_type = ${period} and series = ${seriesName} order by window_start, ts`.execute(db.db)
  return rows
}

describe('populate_tenant_time_series', () => {
  it('fills every active tenant’s four windows with buckets, values and running sums', async () => {
    await day(1, '2025-03-30', 2) // Sunday
    await day(1, '2025-03-31', 3) // Monday
    await day(1, '2025-04-01', 5) // Tuesday, first day of Q2
    await day(1, '2025-04-02', 7)
    const outcome = await run('2025-04-02T12:00:00Z')
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    // tenants 1, 2 and 4 (current, active); not 3 (inactive)
    const { rows: schemas } = await sql<{ n: string }>`
      select nspname as n from pg_namespace where nspname like 'analytics_company_%' order by 1`.execute(db.db)
    expect(schemas.map((s) => s.n)).toEqual(['analytics_company_1', 'analytics_company_2', 'analytics_company_4'])

    expect((await rows(1, 'weekly')).map((r) => [r.ts, r.value, r.running_sum])).toEqual([
      ['2025-03-27', 0, 0], ['2025-03-28', 0, 0], ['2025-03-29', 0, 0], ['2025-03-30', 2, 2],
      ['2025-03-31', 3, 5], ['2025-04-01', 5, 10], ['2025-04-02', 7, 17],
    ])
    expect((await rows(1, 'monthly')).map((r) => [r.ts, r.value, r.running_sum, r.window_start])).toEqual([
      ['2025-04-01', 5, 5, '2025-04-01'], ['2025-04-02', 7, 12, '2025-04-01'],
    ])
    // Q2 starts on a Tuesday: its first week bucket is clipped to the quarter
    expect((await rows(1, 'quarterly')).map((r) => [r.ts, r.value, r.granularity])).toEqual([['2025-04-01', 12, 'week']])
    expect((await rows(1, 'yearly')).map((r) => [r.ts, r.value, r.running_sum, r.granularity])).toEqual([
      ['2025-01-01', 0, 0, 'month'], ['2025-02-01', 0, 0, 'month'], ['2025-03-01', 5, 5, 'month'], ['2025-04-01', 12, 17, 'month'],
    ])
    expect((await rows(2, 'monthly')).map((r) => r.value)).toEqual([0, 0])
    expect(await readSeries(db.db, 1, 'monthly')).toEqual(expect.arrayContaining([
      { ts: '2025-04-02', series: 'sessions', value: 7, running_sum: 12, granularity: 'day', window_start: '2025-04-01', is_complete: false },
    ]))
  })

  it('rolls the weekly window (replacing the previous one) and keeps past monthly windows as history', async () => {
    for (const d of dateRange('2025-03-25', '2025-04-02')) await day(1, d, 1)
    await run('2025-03-31T12:00:00Z', { company: 1 })
    await run('2025-04-02T12:00:00Z', { company: 1 })
    const weekly = await rows(1, 'weekly')
    expect(new Set(weekly.map((r) => r.window_start))).toEqual(new Set(['2025-03-27']))
    expect(weekly).toHaveLength(7)
    const monthly = await rows(1, 'monthly')
    expect([...new Set(monthly.map((r) => r.window_start))]).toEqual(['2025-03-01', '2025-04-01'])
    expect(monthly.filter((r) => r.window_start === '2025-03-01').at(-1)).toMatchObject({ ts: '2025-03-31', running_sum: 7 })
    // a second run with nothing new rewrites nothing
    const again = await run('2025-04-02T12:30:00Z', { company: 1 })
    expect(again.result.rowsInserted).toBe(0)
  })

  it('takes today in ETL_TIMEZONE: 02:00 UTC on April 1 is still March 31 in New York', async () => {
    await day(1, '2025-03-31', 4)
    await run('2025-04-01T02:00:00Z', { company: 1, period: 'monthly' }, 'America/New_York')
    const monthly = await rows(1, 'monthly')
    expect(monthly.at(-1)).toMatchObject({ ts: '2025-03-31', window_start: '2025-03-01', value: 4, running_sum: 4 })
    expect(await rows(1, 'weekly').catch(() => [])).toEqual([])
  })

  it.each([1, 2])('isolates a tenant whose table is broken (concurrency %i): the run is PARTIAL naming it, the others are written', async (concurrency) => {
    await day(1, '2025-04-01', 5)
    await day(2, '2025-04-01', 6)
    await day(4, '2025-04-01', 8)
    // tenant 2's series table exists with the wrong shape
    await db.exec(`create schema analytics_company_2; create table analytics_company_2.metrics_time_series (ts date, series text)`)
    const outcome = await run('2025-04-01T12:00:00Z', { concurrency })
    expect(outcome.status).toBe('PARTIAL')
    expect(outcome.message).toMatch(/tenant 2 \(/)
    expect(outcome.message).not.toMatch(/tenant [14] \(/)
    expect((await rows(1, 'monthly')).map((r) => r.value)).toEqual([5])
    expect((await rows(4, 'monthly')).map((r) => r.value)).toEqual([8])
    const [ledger] = await ledgerRows(db, 'populate_tenant_time_series')
    expect(ledger!.status).toBe('PARTIAL')
    expect(ledger!.failed_units).toEqual([{ unit: 'tenant 2', error: expect.any(String) }])

    // fixed, the next run writes it
    await db.exec(`drop schema analytics_company_2 cascade`)
    expect((await run('2025-04-01T12:15:00Z')).status).toBe('SUCCESS')
    expect((await rows(2, 'monthly')).map((r) => r.value)).toEqual([6])
  })

  it('refuses a tenant id that could not be a schema name before it touches the database', async () => {
    for (const id of [0, -5, 1.5, Number.NaN]) {
      await expect(ensureTenantSeriesTable(db.db, id, { days: { from: '2025-01-01', to: '2025-01-02' }, now: new Date(), jobName: 'x' })).rejects.toThrow(/positive integer/)
    }
    // the SQL function of earlier releases is gone: the tables are made from TypeScript now
    const { rows: fn } = await sql`select 1 from pg_proc where proname = 'populate_company_metrics_time_series'`.execute(db.db)
    expect(fn).toEqual([])
  })

  it('keeps each tenant\'s series as a time series table of its storage mode, with the retention job\'s 2 years', async () => {
    const mode = await storageMode(db.db)
    await day(1, '2025-04-01', 5)
    expect((await run('2025-04-02T12:00:00Z', { company: 1 })).status).toBe('SUCCESS')
    const { rows: policy } = await sql`select job_name, time_column, chunk_interval, retention::text, storage from etl_retention_policies
      where table_name = 'analytics_company_1.metrics_time_series'`.execute(db.db)
    expect(policy).toEqual([{ job_name: 'populate_tenant_time_series', time_column: 'ts', chunk_interval: '1 year', retention: '2 years', storage: mode }])
    const parts = await partsOf(db.db, 'analytics_company_1.metrics_time_series')
    if (mode === 'native') {
      // the window's year and the next one, named by the one rule of src/storage
      expect(parts.map((p) => `${p.name} ${p.from}..${p.to}`)).toEqual([
        'analytics_company_1.metrics_time_series_p20250101 2025-01-01..2026-01-01',
        'analytics_company_1.metrics_time_series_p20260101 2026-01-01..2027-01-01',
      ])
    } else {
      expect(parts.length).toBeGreaterThan(0)
    }
    // two years on, the retention job drops 2025's rows (whole partitions or chunks) and nothing newer
    await day(1, '2027-06-01', 3)
    expect((await run('2027-06-02T12:00:00Z', { company: 1 })).status).toBe('SUCCESS')
    // 2028-06-01 − 2 years = 2026-06-01: past the end of 2025's partition and of TimescaleDB's
    // 360-day chunk that holds 2025-04 (2025-03-13 to 2026-03-08); not of 2027's
    const retention = await runJob(runEnvFor(db, tw.config, () => new Date('2028-06-01T02:00:00Z')), { job: registry.get('retention') })
    expect(retention.status, retention.message).toBe('SUCCESS')
    const { rows: left } = await sql<{ y: string }>`
      select distinct to_char(ts, 'YYYY') as y from analytics_company_1.metrics_time_series order by 1`.execute(db.db)
    expect(left.map((r) => r.y)).toEqual(['2027'])
    expect(retention.result.rowsDeleted).toBeGreaterThan(0)
  })

  it('turns a plain series table of an earlier release into the time series table, keeping its rows', async () => {
    await db.exec(`create schema analytics_company_1;
      create table analytics_company_1.metrics_time_series (ts date not null, series text not null, value numeric not null, running_sum numeric not null,
        granularity text not null, period_type text not null, window_start date not null, updated_at timestamptz not null default now(),
        constraint metrics_time_series_key unique (period_type, window_start, ts, series, granularity));
      insert into analytics_company_1.metrics_time_series values ('2024-11-01', 'sessions', 4, 4, 'day', 'monthly', '2024-11-01', now());`)
    await day(1, '2025-04-01', 5)
    expect((await run('2025-04-02T12:00:00Z', { company: 1 })).status).toBe('SUCCESS')
    const { rows: kind } = await sql<{ kind: string }>`select relkind::text as kind from pg_class where oid = 'analytics_company_1.metrics_time_series'::regclass`.execute(db.db)
    expect(kind[0]!.kind).toBe((await storageMode(db.db)) === 'native' ? 'p' : 'r')
    expect((await rows(1, 'monthly')).map((r) => [r.window_start, r.value])).toEqual([['2024-11-01', 4], ['2025-04-01', 5], ['2025-04-01', 0]])
  })
})
