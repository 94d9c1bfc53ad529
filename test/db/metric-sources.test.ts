import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { targetsOf } from '../../src/kinds/index.js'
import { checkDefinition } from '../../src/kinds/rollup/custom/compile.js'
import { checkSource, parseDefinition } from '../../src/kinds/rollup/custom/definition.js'
import { runMetric } from '../../src/kinds/rollup/custom/execute.js'
import { defineMetric, sourceColumns } from '../../src/kinds/rollup/custom/store.js'
import { builtinJobsDir } from '../../src/paths.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from '../helpers/db.js'
import { customJob, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let registry: JobRegistry

// a user's own job that writes its own fact table: custom metrics may read what it writes
const userJob = customJob('build_my_orders', async () => ({ rowsProcessed: 0 }), { targets: ['my_orders'] })
const allowed = () => targetsOf([...registry.jobs, userJob])

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  registry = await loadRegistry([builtinJobsDir])
  await db.exec(`
    create table my_orders (order_id bigint, day date not null, tenant_id bigint, amount numeric(10, 2));
    insert into my_orders values (1, '2025-01-10', 1, 10.50), (2, '2025-01-10', 1, 4.50), (3, '2025-01-10', 2, 7), (4, '2025-01-11', 1, 100);
    -- the synced table of jobs/table-sync/sync_table_dashboard_data.ts, its rows on a timestamp
    create table dashboard_data (id bigint, fecha_foto timestamptz not null, visits integer);
    insert into dashboard_data values (1, '2025-01-10 00:30:00+00', 3), (2, '2025-01-10 23:59:00+00', 4), (3, '2025-01-11 00:00:00+00', 50);
    create table not_a_target (date_key integer, secret integer);`)
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await db.exec('truncate custom_metric_definitions, custom_metric_values, etl_job_runs')
})

describe('custom metrics over any table a job writes', () => {
  it('takes the allow-list from the registry’s targets: facts, rollups, a user’s table, a synced table', () => {
    const list = allowed()
    for (const t of ['fact_sessions', 'fact_learning_progress', 'daily_metrics', 'weekly_metrics', 'dim_tenant', 'dashboard_data', 'price_bars_daily', 'my_orders']) {
      expect(list).toContain(t)
    }
    expect(list).not.toContain('not_a_target')
    expect(list).not.toContain('etl_job_runs')
  })

  it('sums a user’s fact table by its date column, the same as SQL written by hand', async () => {
    const def = parseDefinition({ name: 'order_amount', metricType: 'SUM', dataSource: 'my_orders', dateColumn: 'day', calculationFormula: 'amount', dimensions: ['tenant_id'], visibility: 'PUBLIC' })
    checkSource(def, allowed())
    const columns = await sourceColumns(db.db, 'my_orders')
    const result = await runMetric(db.db, def, columns, { from: '2025-01-10', to: '2025-01-10' }, { timeoutMs: 5000, allowExpensive: false })
    const { rows } = await sql<{ tenant_id: string; v: number }>`
      select tenant_id::text, sum(amount)::float8 as v from my_orders where day = '2025-01-10' group by tenant_id order by tenant_id`.execute(db.db)
    expect(result.rows.map((r) => [String(r.dimensions.tenant_id), r.value])).toEqual(rows.map((r) => [r.tenant_id, r.v]))
  })

  it('counts a synced table’s rows on a timestamp by the day in ETL_TIMEZONE', async () => {
    const def = parseDefinition({ name: 'visits', metricType: 'SUM', dataSource: 'dashboard_data', dateColumn: 'fecha_foto', calculationFormula: 'visits', visibility: 'PUBLIC' })
    checkSource(def, allowed())
    const columns = await sourceColumns(db.db, 'dashboard_data')
    const utc = await runMetric(db.db, def, columns, { from: '2025-01-10', to: '2025-01-10', zone: 'UTC' }, { timeoutMs: 5000, allowExpensive: false })
    const { rows } = await sql<{ v: number }>`
      select sum(visits)::float8 as v from dashboard_data where fecha_foto >= '2025-01-10T00:00:00Z' and fecha_foto < '2025-01-11T00:00:00Z'`.execute(db.db)
    expect(utc.rows).toEqual([{ dimensions: {}, value: rows[0]!.v }])
    // in New York, Jan 10 is 05:00Z to 05:00Z next day: the last two rows
    const ny = await runMetric(db.db, def, columns, { from: '2025-01-10', to: '2025-01-10', zone: 'America/New_York' }, { timeoutMs: 5000, allowExpensive: false })
    expect(ny.rows[0]!.value).toBe(54)
  })

  it('refuses a table no job writes, and a day column that is not a day', async () => {
    const secret = parseDefinition({ name: 's', metricType: 'SUM', dataSource: 'not_a_target', calculationFormula: 'secret', visibility: 'PUBLIC' })
    expect(() => checkSource(secret, allowed())).toThrow(/field 'dataSource' 'not_a_target' is not a table a job writes; use one of .*daily_metrics/)
    const noDay = parseDefinition({ name: 'n', metricType: 'COUNT', dataSource: 'my_orders', calculationFormula: '*', visibility: 'PUBLIC' })
    expect(() => checkDefinition(noDay, new Map([['day', 'date'], ['amount', 'numeric(10,2)']]))).toThrow(/default dateColumn 'date_key' is not a column of my_orders/)
    const textDay = parseDefinition({ ...noDay, dateColumn: 'amount' })
    expect(() => checkDefinition(textDay, new Map([['amount', 'text']]))).toThrow(/dateColumn 'amount' is text/)
  })

  it('computes a user-table metric in the daily calc_custom_metrics run', async () => {
    await defineMetric(db.db, parseDefinition({ name: 'orders', metricType: 'COUNT', dataSource: 'my_orders', dateColumn: 'day', calculationFormula: '*', visibility: 'PUBLIC' }))
    const outcome = await runJob(runEnvFor(db, loadConfig(tw.env)), { job: registry.get('calc_custom_metrics'), date: '2025-01-10' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    const { rows } = await sql<{ value: string }>`select value from custom_metric_values where name = 'orders' and metric_date = '2025-01-10'`.execute(db.db)
    const { rows: byHand } = await sql<{ n: string }>`select count(*) as n from my_orders where day = '2025-01-10'`.execute(db.db)
    expect(rows.map((r) => Number(r.value))).toEqual([Number(byHand[0]!.n)])
  })

  // PGlite runs in this process's one thread and has no timer to cancel a statement with
  it.skipIf(testDbKind() === 'pglite')('cancels a slow definition in the daily run after the job’s statement timeout: a failed unit, the others written', async () => {
    await db.exec(`create or replace view slow_orders as select o.* from my_orders o cross join lateral (select pg_sleep(0.5)) s`)
    await defineMetric(db.db, parseDefinition({ name: 'slow', metricType: 'COUNT', dataSource: 'slow_orders', dateColumn: 'day', calculationFormula: '*', visibility: 'PUBLIC' }))
    await defineMetric(db.db, parseDefinition({ name: 'fast', metricType: 'COUNT', dataSource: 'my_orders', dateColumn: 'day', calculationFormula: '*', visibility: 'PUBLIC' }))
    const job = registry.get('calc_custom_metrics')
    const quick = { ...job, definition: { ...job.definition, statementTimeoutMs: 200 } }
    const outcome = await runJob(runEnvFor(db, loadConfig(tw.env)), { job: quick, date: '2025-01-10' })
    expect(outcome.status).toBe('PARTIAL')
    expect(outcome.message).toMatch(/metric slow v1 .*statement timeout/)
    const { rows } = await sql<{ name: string }>`select name from custom_metric_values order by name`.execute(db.db)
    expect(rows.map((r) => r.name)).toEqual(['fast'])
    // the bound was the run's own: the session has none after it
    const { rows: after } = await sql<{ v: string }>`select current_setting('statement_timeout') as v`.execute(db.db)
    expect(after[0]!.v).toBe('0')
    await db.exec('drop view slow_orders')
  })
})
