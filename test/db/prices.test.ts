import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { dropOldPartitions, ensurePartitions } from '../../src/kinds/prices/store.js'
import backfillMax from '../../jobs/prices/backfill_prices_max.js'
import historical from '../../jobs/prices/ingest_prices_historical.js'
import hourly from '../../jobs/prices/ingest_prices_hourly.js'
import latest from '../../jobs/prices/update_latest_prices.js'
import type { TestWarehouse } from '../helpers/db.js'
import type { FakeProviders } from '../helpers/fake-providers.js'
import { FAST_LIMITS, openPricesWarehouse, type PricesWarehouse } from '../helpers/prices-warehouse.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'
import { storageMode, type StorageMode } from '../helpers/storage.js'

let w: PricesWarehouse
let tw: TestWarehouse
let db: Database
let source: Database
let fake: FakeProviders
let config: Config

// Wednesday 15 January 2025, 16:30 in New York: after the close
const AFTER_CLOSE = new Date('2025-01-15T21:30:00Z')
// the same day, 11:00 in New York
const IN_SESSION = new Date('2025-01-15T16:00:00Z')
const fast = FAST_LIMITS

beforeAll(async () => {
  w = await openPricesWarehouse(`('AAPL', 'stock', 'polygon', null, true), ('I:SPX', 'index', 'polygon', null, true),
    ('BTC', 'crypto', 'coingecko', 'bitcoin', true), ('OLD', 'stock', 'polygon', null, false)`)
  ;({ tw, db, source, fake, config } = w)
})
afterAll(async () => {
  await w?.close()
})
beforeEach(async () => {
  await w.truncate()
})

const job = (definition: object, name: string, extra: object = {}): RegisteredJob => w.job(definition, name, extra)
const env = (now: Date, cfg = config) => w.env(now, cfg)
const count = async (table: string, symbol?: string) => {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${symbol ?? null}::text is null or symbol = ${symbol ?? null}`.execute(db.db)
  return rows[0]!.n
}

describe('prices: daily bars', () => {
  it('ingests a month of every active asset from Polygon and CoinGecko, dated in New York', async () => {
    const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '1M' } })
    expect(outcome.status).toBe('SUCCESS')
    // 2024-12-15 … 2025-01-15: 21 market days (Christmas, New Year and the Carter closure are not)
    expect(await count('price_bars_daily', 'AAPL')).toBe(20)
    expect(await count('price_bars_daily', 'I:SPX')).toBe(20)
    expect(await count('price_bars_daily', 'BTC')).toBe(32)
    expect(await count('price_bars_daily', 'OLD')).toBe(0)
    const { rows } = await sql<{ date: string; volume: string | null; source: string }>`select date, volume, source from price_bars_daily where symbol = 'I:SPX' order by date limit 1`.execute(db.db)
    expect(rows[0]).toEqual({ date: '2024-12-16', volume: null, source: 'polygon' })
    const [run] = await ledgerRows(db, 'ingest_prices_historical')
    expect(run).toMatchObject({ status: 'SUCCESS', rows_inserted: 72, rows_updated: 0, target_date: null })
    expect(run!.parameters).toMatchObject({ range: '1M' })
  })

  it('follows next_url pages and sends the key in a header only', async () => {
    const before = fake.requests.length
    await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '1M', symbols: ['AAPL'] } })
    const requests = fake.requests.slice(before)
    expect(requests.filter((r) => r.query.get('cursor')).length).toBe(1) // 20 bars in pages of 10
    expect(requests.every((r) => r.headers.authorization === 'Bearer pk-secret-4242')).toBe(true)
    expect(requests.some((r) => r.path.includes('pk-secret') || r.query.toString().includes('pk-secret'))).toBe(false)
    expect(await count('price_bars_daily', 'AAPL')).toBe(20)
  })

  it('changes nothing when run again: same rows, nothing inserted or updated', async () => {
    const j = job(historical, 'ingest_prices_historical')
    await runJob(env(AFTER_CLOSE), { job: j, parameters: { range: '7D' } })
    const first = await db.db.selectFrom('price_bars_daily').selectAll().orderBy('symbol').orderBy('date').execute()
    const again = await runJob(env(AFTER_CLOSE), { job: j, parameters: { range: '7D' } })
    expect(again.status).toBe('SUCCESS')
    expect(again.result).toMatchObject({ rowsInserted: 0, rowsUpdated: 0 })
    expect(await db.db.selectFrom('price_bars_daily').selectAll().orderBy('symbol').orderBy('date').execute()).toEqual(first)
  })

  it('is PARTIAL naming each bad symbol, and writes the good ones', async () => {
    const outcome = await runJob(env(AFTER_CLOSE), {
      job: job(historical, 'ingest_prices_historical'),
      parameters: { range: '7D', symbols: ['AAPL', 'BROKEN', 'MISSING', 'EMPTY', 'DOWN'] },
    })
    expect(outcome.status).toBe('PARTIAL')
    expect(await count('price_bars_daily', 'AAPL')).toBe(5)
    const [run] = await ledgerRows(db, 'ingest_prices_historical')
    expect(run!.status).toBe('PARTIAL')
    const failed = (run!.failed_units as Array<{ unit: string; error: string }>).sort((a, b) => a.unit.localeCompare(b.unit))
    expect(failed.map((f) => f.unit)).toEqual(['BROKEN', 'DOWN', 'MISSING'])
    expect(failed[0]!.error).toMatch(/malformed JSON/)
    expect(failed[1]!.error).toMatch(/HTTP 500.*after 3 attempts/)
    expect(failed[2]!.error).toMatch(/HTTP 404/)
    expect(run!.error_message).toMatch(/^failed: .*BROKEN \(polygon GET \/v2\/aggs\/ticker\/BROKEN\/range\/1\/day\/2025-01-08\/2025-01-15\?adjusted=true&sort=asc&limit=50000: malformed JSON/)
    expect(run!.error_message).not.toContain('pk-secret')
  })

  it('waits out a 429 with Retry-After and a 500, then succeeds', async () => {
    fake.once('/v2/aggs/ticker/AAPL/range', { status: 429, headers: { 'retry-after': '1' }, body: { status: 'ERROR', error: 'exceeded' } }, { status: 500 })
    const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['AAPL'] } })
    expect(outcome.status).toBe('SUCCESS')
    expect(outcome.durationMs).toBeGreaterThanOrEqual(950)
    expect(await count('price_bars_daily', 'AAPL')).toBe(5)
  })

  it('fails a symbol whose request hangs, in bounded time, and keeps the others', async () => {
    const outcome = await runJob(env(AFTER_CLOSE), {
      job: validateJob({ ...historical, limits: { polygon: { ...fast, timeoutMs: 200, retries: 1 } } }, 'jobs/prices/ingest_prices_historical.ts'),
      parameters: { range: '7D', symbols: ['HANG', 'AAPL'] },
    })
    expect(outcome.status).toBe('PARTIAL')
    expect(outcome.result.failedUnits).toEqual([{ unit: 'HANG', error: expect.stringMatching(/timed out after 2 attempts/) }])
  })

  it('is FAILED when every symbol fails, and writes nothing', async () => {
    const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['MISSING'] } })
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/every symbol failed: MISSING/)
  })

  it('with USE_MOCK_DATA writes the same deterministic bars whatever the range asked', async () => {
    const mock = loadConfig({ ...tw.env, USE_MOCK_DATA: '1' })
    const j = job(backfillMax, 'backfill_prices_max')
    await runJob(env(AFTER_CLOSE, mock), { job: j, parameters: { symbols: ['AAPL'], range: '1M' } })
    const month = await db.db.selectFrom('price_bars_daily').selectAll().where('symbol', '=', 'AAPL').orderBy('date').execute()
    expect(month).toHaveLength(20)
    const outcome = await runJob(env(AFTER_CLOSE, mock), { job: j, parameters: { symbols: ['AAPL'], range: '1Y' } })
    expect(outcome.result).toMatchObject({ rowsUpdated: 0 })
    expect(outcome.result.rowsInserted).toBeGreaterThan(200)
    const after = await db.db.selectFrom('price_bars_daily').selectAll().where('symbol', '=', 'AAPL').where('date', '>=', month[0]!.date).orderBy('date').execute()
    expect(after.map((r) => [r.date, r.close])).toEqual(month.map((r) => [r.date, r.close]))
  })
})

describe('prices: market hours', () => {
  it('skips the hourly job at once outside market hours, records why, and asks no provider', async () => {
    const before = fake.requests.length
    const outcome = await runJob(env(new Date('2025-01-18T16:00:00Z')), { job: job(hourly, 'ingest_prices_hourly') })
    expect(outcome.status).toBe('SKIPPED')
    expect(outcome.message).toBe('market closed (2025-01-18: weekend); next open 2025-01-21 09:30 EST; --force runs it anyway')
    expect(fake.requests.length).toBe(before)
    const [run] = await ledgerRows(db, 'ingest_prices_hourly')
    expect(run).toMatchObject({ status: 'SKIPPED', error_message: outcome.message })
  })

  it('ingests the market day’s hourly bars in the session, and again within the hour after the close', async () => {
    const outcome = await runJob(env(IN_SESSION), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(outcome.status).toBe('SUCCESS')
    expect(await count('price_bars_hourly', 'AAPL')).toBe(16) // extended hours, 04:00–19:00
    const late = await runJob(env(new Date('2025-01-15T21:20:00Z')), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(late.status).toBe('SUCCESS')
    expect(late.result).toMatchObject({ rowsInserted: 0, rowsUpdated: 0 })
  })

  it('runs outside market hours when forced, taking the last market day', async () => {
    const outcome = await runJob(env(new Date('2025-01-20T15:00:00Z')), { job: job(hourly, 'ingest_prices_hourly'), force: true, parameters: { symbols: ['AAPL'] } })
    expect(outcome.status).toBe('SUCCESS') // Martin Luther King Jr. Day: the Friday before
    const { rows } = await sql<{ date: string }>`select distinct date from price_bars_hourly`.execute(db.db)
    expect(rows).toEqual([{ date: '2025-01-17' }])
  })

  it('writes latest prices of stocks (previous close) and crypto (simple/price), once per symbol', async () => {
    const outcome = await runJob(env(IN_SESSION), { job: job(latest, 'update_latest_prices') })
    expect(outcome.status).toBe('SUCCESS')
    const rows = await db.db.selectFrom('latest_prices').select(['symbol', 'source']).orderBy('symbol').execute()
    expect(rows).toEqual([
      { symbol: 'AAPL', source: 'polygon' },
      { symbol: 'BTC', source: 'coingecko' },
      { symbol: 'I:SPX', source: 'polygon' },
    ])
    expect(fake.seen('/api/v3/simple/price').at(-1)!.headers['x-cg-demo-api-key']).toBe('cg-secret-4242')
    const again = await runJob(env(IN_SESSION), { job: job(latest, 'update_latest_prices') })
    expect(again.result).toMatchObject({ rowsInserted: 0, rowsUpdated: 0 })
  })

  it('is PARTIAL for a crypto id CoinGecko does not know', async () => {
    await source.exec(`insert into assets values ('NOPE', 'crypto', 'coingecko', 'missing', true) on conflict do nothing`)
    try {
      const outcome = await runJob(env(IN_SESSION), { job: job(latest, 'update_latest_prices'), parameters: { symbols: ['BTC', 'NOPE'] } })
      expect(outcome.status).toBe('PARTIAL')
      expect(outcome.result.failedUnits).toEqual([{ unit: 'NOPE', error: "coingecko has no price for id 'missing'" }])
    } finally {
      await source.exec(`delete from assets where symbol = 'NOPE'`)
    }
  })
})

describe('prices: providers from the registry', () => {
  it('fails the run naming an asset whose provider is not registered, instead of asking Polygon for it', async () => {
    await source.exec(`insert into assets values ('ACME', 'stock', 'alphavantage', null, true) on conflict do nothing`)
    try {
      const before = fake.seen('/v2/aggs/ticker/ACME').length
      const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['AAPL', 'ACME'] } })
      expect(outcome.status).toBe('FAILED')
      expect(outcome.message).toBe("BAD_INPUT: assets: ACME's provider 'alphavantage' is not one of polygon coingecko mock")
      expect(fake.seen('/v2/aggs/ticker/ACME').length).toBe(before)
      expect(await count('price_bars_daily')).toBe(0)
    } finally {
      await source.exec(`delete from assets where symbol = 'ACME'`)
    }
  })

  it('reads a provider name as the registry spells it', async () => {
    await source.exec(`insert into assets values ('MSFT', 'stock', ' Polygon', null, true) on conflict do nothing`)
    try {
      const outcome = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['MSFT'] } })
      expect(outcome.status).toBe('SUCCESS')
      const rows = await db.db.selectFrom('price_bars_daily').select('source').distinct().execute()
      expect(rows).toEqual([{ source: 'polygon' }])
    } finally {
      await source.exec(`delete from assets where symbol = 'MSFT'`)
    }
  })
})

describe('prices: partitions and retention, per storage mode', () => {
  let mode: StorageMode
  beforeAll(async () => {
    mode = await storageMode(db.db)
  })

  it('creates monthly partitions on demand and moves rows out of the default partition (native)', async (t) => {
    if (mode === 'timescaledb') t.skip() // a hypertable makes its chunks on insert; ensurePartitions is a no-op there
    await db.exec(`insert into price_bars_hourly (symbol, ts, date, open, high, low, close, source) values ('X', '2019-03-05 15:00+00', '2019-03-05', 1, 1, 1, 1, 'test')`)
    const { rows: before } = await sql<{ n: number }>`select count(*)::int as n from price_bars_hourly_default`.execute(db.db)
    expect(before[0]!.n).toBe(1)
    expect(await ensurePartitions(db.db, 'price_bars_hourly', '2019-02-10', '2019-04-01')).toBe(3)
    expect(await ensurePartitions(db.db, 'price_bars_hourly', '2019-02-10', '2019-04-01')).toBe(0)
    const { rows } = await sql<{ part: string }>`select tableoid::regclass::text as part from price_bars_hourly where symbol = 'X'`.execute(db.db)
    expect(rows).toEqual([{ part: 'price_bars_hourly_201903' }])
  })

  it('drops partitions (or chunks) wholly older than the retention and keeps the rest, in any session time zone', async () => {
    await ensurePartitions(db.db, 'price_bars_daily', '2018-01-01', '2018-02-01')
    await db.exec(`insert into price_bars_daily (symbol, date, open, high, low, close, source)
      values ('OLDBAR', '2016-06-01', 1, 1, 1, 1, 'test'), ('OLDBAR', '2018-01-10', 1, 1, 1, 1, 'test'), ('OLDBAR', '2018-02-20', 1, 1, 1, 1, 'test')`)
    const day = async () => (await sql<{ d: string }>`select string_agg(date::text, ',' order by date) as d from price_bars_daily where symbol = 'OLDBAR'`.execute(db.db)).rows[0]!.d
    // the date column gets a date cut-off: 2018-02-15 (TimescaleDB refuses a timestamptz one)
    await db.withSession(async (s) => {
      await s.exec(`set timezone to 'Pacific/Auckland'`)
      const dropped = await dropOldPartitions(s.db, 'price_bars_daily', '7 years', new Date('2025-02-15T00:00:00Z'))
      await s.exec(`set timezone to 'UTC'`)
      expect(dropped).toBeGreaterThanOrEqual(1)
    })
    if (mode === 'native') {
      // January 2018 ends before the cut-off; February does not; the default partition loses its 2016 row
      const { rows } = await sql<{ name: string }>`select relname as name from pg_class where relname like 'price_bars_daily_2018%' and relkind = 'r' order by 1`.execute(db.db)
      expect(rows).toEqual([{ name: 'price_bars_daily_201802' }])
      expect(await day()).toBe('2018-02-20')
    } else {
      // yearly chunks of 360 days from the Unix epoch: the one holding 2018-02-20 ends after the cut-off
      expect(await day()).toMatch(/2018-02-20$/)
      expect(await day()).not.toMatch(/2016/)
    }
  })
})
