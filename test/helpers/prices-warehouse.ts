import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { validateJob } from '../../src/engine/registry.js'
import type { RunEnv } from '../../src/engine/runner.js'
import { createTestWarehouse, type TestWarehouse } from './db.js'
import { startFakeProviders, type FakeOptions, type FakeProviders } from './fake-providers.js'
import { runEnvFor } from './run-env.js'

/** HTTP limits that keep a test fast: no pacing, short timeouts, two retries. */
export const FAST_LIMITS = { minIntervalMs: 0, backoffMs: 10, maxBackoffMs: 50, timeoutMs: 300, retries: 2 }

/**
 * A test warehouse for price jobs: its source has an `assets` table with `assets` (SQL values),
 * and a fake Polygon and CoinGecko with keys in the config. `close` undoes it all.
 */
export interface PricesWarehouse {
  tw: TestWarehouse
  db: Database
  source: Database
  fake: FakeProviders
  config: Config
  /** A job file's definition with FAST_LIMITS for both providers. */
  job(definition: object, name: string, extra?: object): RegisteredJob
  env(now: Date, config?: Config): RunEnv
  /** Empties the ledger and the price tables, between tests. */
  truncate(): Promise<void>
  close(): Promise<void>
}

export async function openPricesWarehouse(assets: string, fakeOptions: FakeOptions = { pageSize: 10 }): Promise<PricesWarehouse> {
  const tw = await createTestWarehouse()
  const db = await tw.open()
  const source = tw.kind === 'postgres' ? db : await tw.openSource()
  await source.exec(`
    create table if not exists assets (symbol text primary key, asset_class text not null, provider text not null, coingecko_id text, active boolean not null default true);
    insert into assets values ${assets}`)
  const fake = await startFakeProviders(fakeOptions)
  const config = loadConfig({ ...tw.env, POLYGON_BASE_URL: fake.url, COINGECKO_BASE_URL: fake.url, POLYGON_API_KEY: 'pk-secret-4242', COINGECKO_API_KEY: 'cg-secret-4242' })
  return {
    tw,
    db,
    source,
    fake,
    config,
    job: (definition, name, extra = {}) => validateJob({ ...definition, ...extra, limits: { polygon: FAST_LIMITS, coingecko: FAST_LIMITS } }, `jobs/prices/${name}.ts`),
    env: (now, cfg = config) => runEnvFor(db, cfg, () => now, source),
    truncate: () => db.exec('truncate etl_job_runs; truncate price_bars_daily; truncate price_bars_hourly; truncate latest_prices'),
    async close() {
      await fake.close()
      if (source !== db) await source.close()
      await db.close()
      await tw.drop()
    },
  }
}
