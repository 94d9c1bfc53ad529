import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { errorLines, etl } from '../helpers/cli.js'
import { startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'

let tw: TestWarehouse
let fake: FakeProviders

beforeAll(async () => {
  tw = await createTestWarehouse()
  fake = await startFakeProviders()
})

afterAll(async () => {
  await fake?.close()
  await tw?.drop()
})

const mock = () => ({ ...tw.env, USE_MOCK_DATA: '1' })

describe('etl prices as a subprocess', () => {
  it('refuses an unknown range with one line and exit 2, before opening anything', async () => {
    const { code, stderr, stdout } = await etl(['prices', 'historical', '2W', 'AAPL'], mock())
    expect(code).toBe(2)
    expect(errorLines(stderr)).toEqual(["etl: RANGE '2W' is not one of 7D 1M 3M 6M YTD 1Y 3Y 5Y MAX"])
    expect(stdout).toBe('')
    expect((await etl(['prices', 'show', 'AAPL', '--range', '2D'], mock())).code).toBe(2)
  })

  it('ingests a range with the mock provider, records the ledger row, and shows it as JSON', async () => {
    const run = await etl(['prices', 'historical', '1m', 'AAPL'], mock())
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/ingest_prices_historical\s+-\s+SUCCESS\s+\d+/)
    const shown = await etl(['prices', 'show', 'AAPL', '--range', '7D', '--json'], mock())
    expect(shown.code).toBe(0)
    const bars = JSON.parse(shown.stdout)
    expect(bars.length).toBeGreaterThanOrEqual(4)
    expect(bars[0]).toEqual({ symbol: 'AAPL', t: expect.any(String), date: expect.any(String), open: expect.any(Number), high: expect.any(Number), low: expect.any(Number), close: expect.any(Number), volume: expect.any(Number), vwap: expect.any(Number) })
    const status = JSON.parse((await etl(['status', '--json', '--job', 'ingest_prices_historical'], mock())).stdout)
    expect(status[0]).toMatchObject({ status: 'SUCCESS', parameters: { range: '1M', symbols: ['AAPL'] } })
    expect(JSON.parse((await etl(['prices', 'show', 'NOPE', '--json'], mock())).stdout)).toEqual([])
  })

  it('exits 1 with a PARTIAL row naming the bad symbol, and never prints the API key', async () => {
    const env = { ...tw.env, POLYGON_BASE_URL: fake.url, POLYGON_API_KEY: 'pk-very-secret-77', POLYGON_PLAN: 'developer' }
    const { code, stdout, stderr } = await etl(['prices', 'historical', '7D', 'AAPL', 'BROKEN'], env)
    expect(code).toBe(1)
    expect(stdout).toMatch(/PARTIAL/)
    expect(stdout).toMatch(/failed: BROKEN \(polygon GET/)
    expect(stdout + stderr).not.toContain('pk-very-secret-77')
  })

  it('keeps the case of a ticker: KIMpL (a preferred share) is asked of Polygon and stored as KIMpL', async () => {
    const env = { ...tw.env, POLYGON_BASE_URL: fake.url, POLYGON_API_KEY: 'pk-test', POLYGON_PLAN: 'Developer' }
    const { code, stdout } = await etl(['prices', 'historical', '7D', 'KIMpL'], env)
    expect(code, stdout).toBe(0)
    expect(fake.seen('/v2/aggs/ticker/').map((r) => r.path).filter((p) => /KIM/i.test(p))).toEqual([expect.stringContaining('/v2/aggs/ticker/KIMpL/range/1/day/')])
    const shown = JSON.parse((await etl(['prices', 'show', 'KIMpL', '--range', '7D', '--json'], env)).stdout)
    expect(shown.length).toBeGreaterThan(0)
    expect(shown[0].symbol).toBe('KIMpL')
  })

  it('refuses an unknown POLYGON_PLAN or COINGECKO_PLAN with one line and exit 2', async () => {
    const polygon = await etl(['prices', 'historical', '7D', 'AAPL'], { ...tw.env, POLYGON_PLAN: 'gold' })
    expect(polygon.code).toBe(2)
    expect(errorLines(polygon.stderr)).toEqual(["etl: POLYGON_PLAN 'gold' is not one of free starter developer advanced"])
    const coingecko = await etl(['prices', 'latest', '--force', 'BTC'], { ...tw.env, COINGECKO_PLAN: 'free' })
    expect(coingecko.code).toBe(2)
    expect(errorLines(coingecko.stderr)).toEqual(["etl: COINGECKO_PLAN 'free' is not one of demo analyst lite pro"])
  })

  it('refuses an asset whose provider is not registered with one line and exit 2, recording nothing', async () => {
    const fill = async (statement: string) => {
      const source = await tw.openSource()
      try {
        await source.exec(statement)
      } finally {
        await source.close()
      }
    }
    await fill(`create table if not exists assets (symbol text primary key, asset_class text not null, provider text not null, coingecko_id text, active boolean not null default true);
      insert into assets values ('ACME', 'stock', 'alphavantage', null, true)`)
    try {
      const runs = async () => JSON.parse((await etl(['status', '--json', '--job', 'ingest_prices_historical', '--limit', '50'], mock())).stdout).length
      const before = await runs()
      const { code, stdout, stderr } = await etl(['prices', 'historical', '7D', 'ACME'], mock())
      expect(code).toBe(2)
      expect(errorLines(stderr)).toEqual(["etl: assets: ACME's provider 'alphavantage' is not one of polygon coingecko mock"])
      expect(stdout).toBe('')
      expect(await runs()).toBe(before)
    } finally {
      await fill('drop table assets')
    }
  })

  it('with no key and no network, says what to do, and names every symbol in failed_units', async () => {
    // nothing listens on port 9 of 127.0.0.1: no network for either provider
    const offline = { ...tw.env, POLYGON_BASE_URL: 'http://127.0.0.1:9', COINGECKO_BASE_URL: 'http://127.0.0.1:9', COINGECKO_PLAN: 'pro' }
    const { code, stdout, stderr } = await etl(['prices', 'historical', '7D', 'AAPL', 'MSFT'], offline)
    expect(code).toBe(1)
    expect(stdout + stderr).toContain('set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider')
    const [run] = JSON.parse((await etl(['status', '--json', '--job', 'ingest_prices_historical', '--limit', '1'], mock())).stdout)
    expect(run).toMatchObject({ status: 'FAILED' })
    expect([...run.failed_units].sort((a: { unit: string }, b: { unit: string }) => a.unit.localeCompare(b.unit))).toEqual([
      { unit: 'AAPL', error: 'no POLYGON_API_KEY: set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider' },
      { unit: 'MSFT', error: 'no POLYGON_API_KEY: set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider' },
    ])
  })

  it('after `historical`, `prices show` names the command that fetches the range it shows', async () => {
    const shown = await etl(['prices', 'show', 'ZZZ'], mock())
    expect(shown.stdout).toContain("no hourly (1D) bars of ZZZ in the warehouse; 'etl prices hourly ZZZ' fetches them")
    expect(shown.stdout).not.toContain('etl prices historical')
    const year = await etl(['prices', 'show', 'ZZZ', '--range', '1Y'], mock())
    expect(year.stdout).toContain("no 1Y daily bars of ZZZ in the warehouse; 'etl prices historical 1Y ZZZ' fetches them")
  })

  it('says what the cache commands need when REDIS_URL is unset (exit 3)', async () => {
    const { code, stderr } = await etl(['cache', 'stats'], mock())
    expect(code).toBe(3)
    expect(errorLines(stderr)).toEqual(['etl: REDIS_URL is not set; point it at the Redis of the cache (redis://host:6379)'])
  })
})
