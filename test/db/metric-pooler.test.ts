import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { openPostgres } from '../../src/db/postgres.js'
import { loadRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { parseDefinition } from '../../src/kinds/rollup/custom/definition.js'
import { defineMetric } from '../../src/kinds/rollup/custom/store.js'
import { builtinJobsDir } from '../../src/paths.js'
import { hasServer, useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { PGBOUNCER, startPgBouncer, type Bouncer } from '../helpers/pgbouncer.js'
import { runEnvFor } from '../helpers/run-env.js'

/**
 * The daily calc_custom_metrics run behind a real PgBouncer in transaction mode with two server
 * connections (the runner needs two): its statement_timeout is per transaction, so it bounds the
 * slow definition and neither server connection has a timeout left over afterwards.
 */
const needs = !hasServer() || !PGBOUNCER
let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))
let bouncer: Bouncer

beforeAll(async () => {
  if (needs) return
  bouncer = await startPgBouncer(tw.env.WAREHOUSE_DATABASE_URL!, { ignoreStartupParameters: ['extra_float_digits', 'options'], poolSize: 2 })
})
afterAll(async () => {
  await bouncer?.stop()
})

describe.skipIf(needs)('custom metrics behind PgBouncer in transaction mode (needs a PostgreSQL server and pgbouncer)', () => {
  it('bounds each definition of the daily run with a SET LOCAL timeout that leaves nothing on the pooled connection', async () => {
    await withWarehouse(async (db) => {
      await db.exec(`create table my_orders (day date not null, amount numeric);
        insert into my_orders values ('2025-01-10', 1), ('2025-01-10', 2);
        create view slow_orders as select o.* from my_orders o cross join lateral (select pg_sleep(0.5)) s`)
      await defineMetric(db.db, parseDefinition({ name: 'slow', metricType: 'COUNT', dataSource: 'slow_orders', dateColumn: 'day', calculationFormula: '*', visibility: 'PUBLIC' }))
      await defineMetric(db.db, parseDefinition({ name: 'fast', metricType: 'SUM', dataSource: 'my_orders', dateColumn: 'day', calculationFormula: 'amount', visibility: 'PUBLIC' }))
    })
    const url = bouncer.url(tw.env.WAREHOUSE_DATABASE_URL!)
    const pooled = await openPostgres({ url, role: 'warehouse' })
    try {
      const job = (await loadRegistry([builtinJobsDir])).get('calc_custom_metrics')
      const quick = { ...job, definition: { ...job.definition, statementTimeoutMs: 200 } }
      const outcome = await runJob(runEnvFor(pooled, loadConfig({ ...tw.env, WAREHOUSE_DATABASE_URL: url })), { job: quick, date: '2025-01-10' })
      expect(outcome.status).toBe('PARTIAL')
      expect(outcome.message).toMatch(/metric slow v1 .*statement timeout/)
      // two transactions open at once hold both server connections behind the bouncer: the run's among them
      const seen = await pooled.db.transaction().execute(async (a) => {
        const first = await sql<{ v: string; pid: number }>`select current_setting('statement_timeout') as v, pg_backend_pid() as pid`.execute(a)
        const second = await pooled.db.transaction().execute((b) => sql<{ v: string; pid: number }>`select current_setting('statement_timeout') as v, pg_backend_pid() as pid`.execute(b))
        return [first.rows[0]!, second.rows[0]!]
      })
      expect(new Set(seen.map((r) => r.pid)).size).toBe(2)
      expect(seen.map((r) => r.v)).toEqual(['0', '0'])
      const { rows: values } = await sql<{ name: string; value: string }>`select name, value from custom_metric_values order by name`.execute(pooled.db)
      expect(values.map((r) => [r.name, Number(r.value)])).toEqual([['fast', 3]])
    } finally {
      await pooled.close()
    }
  })
})
