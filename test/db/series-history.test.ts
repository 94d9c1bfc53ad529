import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { backfill } from '../../src/engine/backfill.js'
import type { JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { ensureTenantSeriesTable } from '../../src/kinds/series/table.js'
import { dateKey, dateRange } from '../../src/time/calendar.js'
import type { TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'
import { useSeriesWarehouse } from '../helpers/series-warehouse.js'

let tw: TestWarehouse
let db: Database
let registry: JobRegistry

useSeriesWarehouse((w) => ({ tw, db, registry } = w))

beforeEach(async () => {
  await db.exec(`truncate etl_job_runs, daily_metrics, dim_tenant;
    drop schema if exists analytics_company_1 cascade; drop schema if exists analytics_company_2 cascade;
    insert into dim_tenant (id, name, is_active, is_current) values (1, 'Acme', true, true), (2, 'Beta', true, true);`)
})

const job = () => registry.get('populate_tenant_time_series')
const env = (now: string) => runEnvFor(db, loadConfig(tw.env), () => new Date(now))
const run = (now: string, parameters: Record<string, unknown> = {}) => runJob(env(now), { job: job(), parameters })

/** daily_metrics rows for a tenant: sessions = the day of month × `factor`, so every day differs. */
async function seed(tenant: number, from: string, to: string, factor: number) {
  for (const d of dateRange(from, to)) {
    const sessions = Number(d.slice(8)) * factor
    await sql`insert into daily_metrics (tenant_id, date_key, metric_date, sessions, session_minutes)
      values (${tenant}, ${dateKey(d)}, ${d}::date, ${sessions}, ${sessions * 10})`.execute(db.db)
  }
}

/** SUCCESS rows of the daily rollup for these days, as the runner would have left them. */
async function rolledUp(days: string[]) {
  for (const d of days) {
    await sql`insert into etl_job_runs (job_name, run_date, target_date, status, completed_at)
      values ('aggregate_daily_metrics', ${d}::date, ${d}::date, 'SUCCESS', now())`.execute(db.db)
  }
}

/** The series rows of a period, from the view across tenants. */
async function viewRows(period: string, seriesName = 'sessions') {
  const { rows } = await sql<{ tenant_id: number; ts: string; window_start: string; value: number; running_sum: number; is_complete: boolean }>`
    select tenant_id::int as tenant_id, to_char(ts, 'YYYY-MM-DD') as ts, to_char(window_start, 'YYYY-MM-DD') as window_start,
           value::float8 as value, running_sum::float8 as running_sum, is_complete
    from metrics_time_series_all where period_type = ${period} and series = ${seriesName}
    order by tenant_id, window_start, ts`.execute(db.db)
  return rows
}

describe('tenant series history', () => {
  it('computes the windows ending at --date, with the numbers of daily_metrics summed by hand', async () => {
    await seed(1, '2025-01-01', '2025-03-31', 1)
    const outcome = await run('2025-06-10T12:00:00Z', { company: 1, endDate: '2025-02-14' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    // the monthly window of Feb 14: Feb 1 .. Feb 14, day buckets
    const monthly = (await viewRows('monthly')).filter((r) => r.tenant_id === 1)
    expect(monthly.map((r) => r.ts)).toEqual(dateRange('2025-02-01', '2025-02-14'))
    const { rows: expected } = await sql<{ ts: string; value: number; running_sum: number }>`
      select to_char(metric_date, 'YYYY-MM-DD') as ts, sessions::float8 as value,
             (sum(sessions) over (order by metric_date))::float8 as running_sum
      from daily_metrics where tenant_id = 1 and metric_date between '2025-02-01' and '2025-02-14' order by metric_date`.execute(db.db)
    expect(monthly.map(({ ts, value, running_sum }) => ({ ts, value, running_sum }))).toEqual(expected)
    // the quarter so far in week buckets, the year so far in month buckets
    const { rows: byMonth } = await sql<{ ts: string; value: number }>`
      select to_char(date_trunc('month', metric_date), 'YYYY-MM-DD') as ts, sum(sessions)::float8 as value
      from daily_metrics where tenant_id = 1 and metric_date <= '2025-02-14' group by 1 order by 1`.execute(db.db)
    expect((await viewRows('yearly')).map(({ ts, value }) => ({ ts, value }))).toEqual(byMonth)
    const quarterly = await viewRows('quarterly')
    expect(quarterly[0]).toMatchObject({ ts: '2025-01-01', window_start: '2025-01-01', value: 1 + 2 + 3 + 4 + 5 })
    expect(quarterly.at(-1)).toMatchObject({ ts: '2025-02-10', value: 10 + 11 + 12 + 13 + 14 })
  })

  it('a backfill of the series job rebuilds every month and quarter that ends in the range', async () => {
    await seed(1, '2025-01-01', '2025-04-15', 1)
    await seed(2, '2025-01-01', '2025-04-15', 2)
    const summary = await backfill(env('2025-06-10T12:00:00Z'), { from: '2025-01-20', to: '2025-04-10', jobs: [job()] })
    expect(summary.outcomes.map((o) => o.status)).toEqual(['SUCCESS'])
    const monthly = await viewRows('monthly')
    // four monthly windows per tenant: January to the end, February, March, April to the 10th
    const windows = (t: number) => [...new Set(monthly.filter((r) => r.tenant_id === t).map((r) => r.window_start))]
    expect(windows(1)).toEqual(['2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01'])
    expect(windows(2)).toEqual(windows(1))
    const { rows: totals } = await sql<{ tenant_id: number; window_start: string; total: number }>`
      select tenant_id::int as tenant_id, to_char(date_trunc('month', metric_date), 'YYYY-MM-DD') as window_start, sum(sessions)::float8 as total
      from daily_metrics where metric_date <= '2025-04-10' group by 1, 2 order by 1, 2`.execute(db.db)
    const lastOfWindow = new Map<string, number>()
    for (const r of monthly) lastOfWindow.set(`${r.tenant_id} ${r.window_start}`, r.running_sum)
    expect(totals.map((t) => lastOfWindow.get(`${t.tenant_id} ${t.window_start}`))).toEqual(totals.map((t) => t.total))
    // Q1 whole and Q2 to April 10
    expect([...new Set((await viewRows('quarterly')).filter((r) => r.tenant_id === 1).map((r) => r.window_start))]).toEqual(['2025-01-01', '2025-04-01'])
    // the weekly window is rolling: only the one ending on the range's last day
    expect([...new Set((await viewRows('weekly')).map((r) => r.window_start))]).toEqual(['2025-04-04'])
  })

  it('marks a bucket complete once its whole period ended in the window and every day of it was rolled up', async () => {
    await seed(1, '2025-03-01', '2025-03-12', 1)
    // rolled up: March 1 to 11 except the 5th; not the 12th (today)
    await rolledUp(dateRange('2025-03-01', '2025-03-11').filter((d) => d !== '2025-03-05'))
    expect((await run('2025-03-12T12:00:00Z', { company: 1 })).status).toBe('SUCCESS')
    const monthly = await viewRows('monthly')
    expect(monthly.filter((r) => !r.is_complete).map((r) => r.ts)).toEqual(['2025-03-05', '2025-03-12'])
    // quarterly week buckets: the week of Mar 3 misses the 5th, the week of Mar 10 has not ended
    const { rows: weeks } = await sql<{ ts: string; is_complete: boolean }>`
      select to_char(ts, 'YYYY-MM-DD') as ts, is_complete from analytics_company_1.metrics_time_series
      where period_type = 'quarterly' and series = 'sessions' and ts >= '2025-02-24' order by ts`.execute(db.db)
    expect(weeks).toEqual([
      { ts: '2025-02-24', is_complete: false }, // Feb 24 .. Mar 2: February was not rolled up
      { ts: '2025-03-03', is_complete: false },
      { ts: '2025-03-10', is_complete: false },
    ])
    // today's bucket fills and completes once the day's rollup ran (and the next run sees it)
    await rolledUp(['2025-03-05', '2025-03-12'])
    await sql`update daily_metrics set sessions = 99 where tenant_id = 1 and metric_date = '2025-03-12'`.execute(db.db)
    expect((await run('2025-03-12T23:00:00Z', { company: 1 })).status).toBe('SUCCESS')
    const after = await viewRows('monthly')
    expect(after.every((r) => r.is_complete)).toBe(true)
    expect(after.at(-1)).toMatchObject({ ts: '2025-03-12', value: 99, is_complete: true })
  })

  it('shows every tenant in metrics_time_series_all, the same rows as each tenant table', async () => {
    await seed(1, '2025-03-01', '2025-03-03', 1)
    await seed(2, '2025-03-01', '2025-03-03', 5)
    expect((await run('2025-03-03T12:00:00Z')).status).toBe('SUCCESS')
    const { rows: both } = await sql<{ n: number }>`
      select count(*)::int as n from (
        select 1 as tenant_id, ts, series, value, period_type, window_start from analytics_company_1.metrics_time_series
        union all select 2, ts, series, value, period_type, window_start from analytics_company_2.metrics_time_series
        except all select tenant_id, ts, series, value, period_type, window_start from metrics_time_series_all) d`.execute(db.db)
    expect(both[0]!.n).toBe(0)
    const { rows: perTenant } = await sql<{ tenant_id: number; total: number }>`
      select tenant_id::int as tenant_id, sum(value)::float8 as total from metrics_time_series_all
      where period_type = 'monthly' and series = 'sessions' group by 1 order by 1`.execute(db.db)
    expect(perTenant).toEqual([{ tenant_id: 1, total: 6 }, { tenant_id: 2, total: 30 }])
    // a tenant made later joins the view when its table is made
    await db.exec(`insert into dim_tenant (id, name, is_active, is_current) values (7, 'Late', true, true); drop schema if exists analytics_company_7 cascade`)
    const made = await ensureTenantSeriesTable(db.db, 7, { days: { from: '2025-03-01', to: '2025-03-03' }, now: new Date(), jobName: 'populate_tenant_time_series' })
    expect(made.created).toBe(true)
    const again = await ensureTenantSeriesTable(db.db, 7, { days: { from: '2025-03-01', to: '2025-03-03' }, now: new Date(), jobName: 'populate_tenant_time_series' })
    expect(again.created).toBe(false)
    const { rows: tenants } = await sql<{ t: string }>`select pg_get_viewdef('metrics_time_series_all'::regclass) as t`.execute(db.db)
    expect(tenants[0]!.t).toMatch(/analytics_company_7\.metrics_time_series/)
    await db.exec('drop schema analytics_company_7 cascade')
  })
})
