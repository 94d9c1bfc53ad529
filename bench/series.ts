// Scenario `series_all_tenants`: populate_tenant_time_series for every active tenant of the medium
// demo (all four windows), ours (the series job through the runner: per-tenant calls, SAVEPOINT or
// own connection, ledger row) against the same upserts run for every tenant in one transaction.
// `node --import tsx bench/series.ts [--quick]` prints one JSON line; bench/index.ts can import it.
import { sql } from 'kysely'
import { loadConfig } from '../src/config.js'
import { migrateUp } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { fillDemo } from '../src/demo/generate.js'
import { loadRegistry } from '../src/engine/registry.js'
import { newInvocationId, runJob, type RunEnv } from '../src/engine/runner.js'
import { runSequence } from '../src/engine/sequence.js'
import { silentLogger } from '../src/log.js'
import { fillTenantWindow, seriesWindow, SERIES_PERIODS } from '../src/kinds/series/time-series.js'
import { builtinJobsDir } from '../src/paths.js'
import { median, result, scratchDatabase, seconds, type BenchResult } from './support.js'

const TODAY = '2025-06-30'

export async function seriesAllTenants(quick = false): Promise<BenchResult> {
  const scratch = await scratchDatabase('series')
  const database = await openPostgres({ url: scratch.url, role: 'warehouse' })
  try {
    await migrateUp(database, 'public')
    await fillDemo(database, { scale: quick ? 'small' : 'medium', seed: 7, today: TODAY, timezone: 'UTC' })
    const config = loadConfig({ WAREHOUSE_DATABASE_URL: scratch.url, OLTP_DATABASE_URL: scratch.url, LOG_LEVEL: 'warn' })
    const env: RunEnv = { config, log: silentLogger, warehouse: database, source: async () => database, invocationId: newInvocationId(), now: () => new Date(`${TODAY}T12:00:00Z`) }
    const registry = await loadRegistry([builtinJobsDir])
    await runSequence(env, registry.jobs.filter((j) => j.kind === 'dimension'), undefined)
    // a year of daily_metrics per tenant (the yearly window reads all of it); the series reads nothing else
    await sql`insert into daily_metrics (tenant_id, date_key, metric_date, active_learners, sessions, session_minutes, new_learners, homework_submitted)
      select t.id, to_char(d, 'YYYYMMDD')::int, d::date, 10 + (t.id * 7 + extract(doy from d)::int) % 50, 20 + (t.id * 13 + extract(doy from d)::int) % 90,
             ((t.id * 17 + extract(doy from d)::int) % 900)::numeric, (t.id + extract(doy from d)::int) % 5, (t.id * 3 + extract(doy from d)::int) % 40
      from dim_tenant t cross join generate_series(${`${TODAY.slice(0, 4)}-01-01`}::date, ${TODAY}::date, interval '1 day') d
      where t.is_current`.execute(database.db)
    const job = registry.get('populate_tenant_time_series')
    const windows = SERIES_PERIODS.map((p) => seriesWindow(p, TODAY))
    const { rows: tenants } = await sql<{ n: number }>`select count(*)::int as n from dim_tenant where is_current and is_active`.execute(database.db)

    const ours = async (concurrency: number) => {
      const outcome = await runJob(env, { job, force: true, parameters: { concurrency } })
      if (outcome.status !== 'SUCCESS') throw new Error(`series run ended ${outcome.status}: ${outcome.message}`)
    }
    // the same upserts, one tenant after another in one transaction: no runner, ledger or savepoints
    const baseline = () =>
      database.db.transaction().execute(async (trx) => {
        const { rows: ids } = await sql<{ id: number }>`select id from dim_tenant where is_current and is_active order by id`.execute(trx)
        for (const { id } of ids) for (const w of windows) await fillTenantWindow(trx, Number(id), w, [])
      })
    await ours(4) // creates every tenant's schema and table; later runs measure the refresh
    // a refresh that changes every value, so each run writes as much as the first
    const touch = () => sql`update daily_metrics set sessions = sessions + 1`.execute(database.db)
    const runs = quick ? 3 : 5
    const oursS: number[] = []
    const serialS: number[] = []
    const baseS: number[] = []
    for (let i = 0; i < runs; i++) {
      await touch()
      oursS.push((await seconds(() => ours(4))).s)
      await touch()
      serialS.push((await seconds(() => ours(1))).s)
      await touch()
      baseS.push((await seconds(baseline)).s)
    }
    const { rows: written } = await sql<{ n: number }>`select count(*)::int as n from analytics_company_1.metrics_time_series`.execute(database.db)
    return result({
      scenario: 'series_all_tenants',
      ours: oursS,
      baseline: baseS,
      rows: written[0]!.n * tenants[0]!.n,
      peak_rss_mb: process.memoryUsage().rss / 2 ** 20,
      goal: { max: 1.5 },
      note: `${tenants[0]!.n} tenants x 4 windows, concurrency 4; concurrency 1 (one transaction, SAVEPOINT per tenant): ${median(serialS).toFixed(3)}s`,
    })
  } finally {
    await database.close()
    await scratch.drop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await seriesAllTenants(process.argv.includes('--quick')))}\n`)
}
