import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { resolveAssets } from '../../src/prices/assets.js'
import backfillMax from '../../jobs/prices/backfill_prices_max.js'
import historical from '../../jobs/prices/ingest_prices_historical.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'

// Providers' real answers (issue #18): case-sensitive tickers, hosts, rate limits, error bodies,
// CoinGecko's granularity and UTC days, Polygon's plan limits and sessions.
let tw: TestWarehouse
let db: Database
let source: Database
let fake: FakeProviders
let config: Config

const AFTER_CLOSE = new Date('2025-01-15T21:30:00Z')
const fast = { minIntervalMs: 0, backoffMs: 10, maxBackoffMs: 50, timeoutMs: 300, retries: 2 }

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  source = tw.kind === 'postgres' ? db : await tw.openSource()
  await source.exec(`
    create table if not exists assets (symbol text primary key, asset_class text not null, provider text not null, coingecko_id text, active boolean not null default true);
    insert into assets values ('AAPL', 'stock', 'polygon', null, true), ('KIMpL', 'stock', 'polygon', null, true),
      ('BTC', 'crypto', 'coingecko', 'bitcoin', true)`)
  fake = await startFakeProviders({ pageSize: 10 })
  config = loadConfig({ ...tw.env, POLYGON_BASE_URL: fake.url, COINGECKO_BASE_URL: fake.url, POLYGON_API_KEY: 'pk-secret-4242', COINGECKO_API_KEY: 'cg-secret-4242' })
})

afterAll(async () => {
  await fake?.close()
  if (source !== db) await source?.close()
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await db.exec('truncate etl_job_runs; truncate price_bars_daily; truncate price_bars_hourly; truncate latest_prices')
})

const job = (definition: object, name: string, extra: object = {}): RegisteredJob =>
  validateJob({ ...definition, ...extra, limits: { polygon: fast, coingecko: fast } }, `jobs/prices/${name}.ts`)
const env = (now: Date, cfg = config) => runEnvFor(db, cfg, () => now, source)
const symbols = async (table: string) =>
  (await sql<{ symbol: string }>`select distinct symbol from ${sql.table(table)} order by symbol`.execute(db.db)).rows.map((r) => r.symbol)

describe('prices: tickers keep their case', () => {
  it('takes the assets list’s spelling for a name typed in another case, and keeps an unknown name as typed', async () => {
    const assets = await resolveAssets(source, ['kimpl', 'KIMpL', 'aapl', 'BRK.b'])
    expect(assets.map((a) => a.symbol)).toEqual(['KIMpL', 'AAPL', 'BRK.b'])
  })

  it('asks Polygon for KIMpL, not KIMPL, and files its bars under KIMpL', async () => {
    const before = fake.requests.length
    const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['kimpl'] } })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual([expect.stringMatching(/^\/v2\/aggs\/ticker\/KIMpL\/range\/1\/day\//)])
    expect(await symbols('price_bars_daily')).toEqual(['KIMpL'])
    expect((await ledgerRows(db, 'ingest_prices_historical'))[0]!.rows_inserted).toBeGreaterThan(0)
  })
})

describe('prices: CoinGecko’s Demo key and its 365 days', () => {
  it('clamps a MAX backfill to the days the key may see and says so in the ledger row, a warning and not a failed symbol', async () => {
    fake.coingeckoHistoryFrom = AFTER_CLOSE.getTime() - 365 * 86_400_000
    try {
      const outcome = await runJob(env(AFTER_CLOSE), { job: job(backfillMax, 'backfill_prices_max'), parameters: { symbols: ['BTC'] } })
      expect(outcome.status, outcome.message).toBe('SUCCESS')
      const [run] = await ledgerRows(db, 'backfill_prices_max')
      expect(run!.failed_units).toBeNull()
      expect(run!.error_message).toBe("warning: BTC (CoinGecko's key reaches back 365 days only (error_code 10012): bars from 2024-01-17, not 2000-01-01)")
      const { rows } = await sql<{ first: string; n: number }>`select min(date)::text as first, count(*)::int as n from price_bars_daily where symbol = 'BTC'`.execute(db.db)
      expect(rows[0]!.first).toMatch(/^2024-01-1[67]$/)
      expect(rows[0]!.n).toBeGreaterThan(360)
    } finally {
      fake.coingeckoHistoryFrom = undefined
    }
  })
})
