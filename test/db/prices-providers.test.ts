import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { runJob } from '../../src/engine/runner.js'
import { silentLogger } from '../../src/log.js'
import { resolveAssets } from '../../src/kinds/prices/assets.js'
import { readPrices } from '../../src/kinds/prices/read.js'
import backfillMax from '../../jobs/prices/backfill_prices_max.js'
import historical from '../../jobs/prices/ingest_prices_historical.js'
import hourly from '../../jobs/prices/ingest_prices_hourly.js'
import type { TestWarehouse } from '../helpers/db.js'
import { fakeCoinPrice, startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'
import { openPricesWarehouse, type PricesWarehouse } from '../helpers/prices-warehouse.js'
import { ledgerRows } from '../helpers/run-env.js'

// Providers' real answers (issue #18): case-sensitive tickers, hosts, rate limits, error bodies,
// CoinGecko's granularity and UTC days, Polygon's plan limits and sessions.
let w: PricesWarehouse
let tw: TestWarehouse
let db: Database
let source: Database
let fake: FakeProviders
let config: Config

const AFTER_CLOSE = new Date('2025-01-15T21:30:00Z')

beforeAll(async () => {
  w = await openPricesWarehouse(`('AAPL', 'stock', 'polygon', null, true), ('KIMpL', 'stock', 'polygon', null, true),
    ('BTC', 'crypto', 'coingecko', 'bitcoin', true)`)
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

describe('prices: crypto bars are UTC days', () => {
  const SUNDAY_BACKFILL = new Date('2025-01-19T07:00:00Z') // 02:00 in New York
  const bars = async () =>
    (await sql<{ date: string; open: string; high: string; low: string; close: string }>`
      select date::text, open::text, high::text, low::text, close::text from price_bars_daily where symbol = 'BTC' order by date`.execute(db.db)).rows

  it('files CoinGecko’s 00:00 UTC point of day D under D, and a weekly MAX and a weekday 1Y run agree on every bar they share', async () => {
    fake.coingeckoNow = AFTER_CLOSE.getTime()
    try {
      const year = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '1Y', symbols: ['BTC'] } })
      expect(year.status, year.message).toBe('SUCCESS')
      const fromYear = await bars()
      expect(fromYear.at(-1)!.date).toBe('2025-01-15')
      const tenth = fromYear.find((b) => b.date === '2025-01-10')!
      const price = String(fakeCoinPrice('bitcoin', Date.parse('2025-01-10T00:00:00Z') / 1000))
      expect(Number(tenth.close)).toBe(Number(price))
      // today's bar is today's 00:00 price, not the "now" point the answer ends with
      expect(Number(fromYear.at(-1)!.close)).toBe(fakeCoinPrice('bitcoin', Date.parse('2025-01-15T00:00:00Z') / 1000))

      await db.exec('truncate price_bars_daily')
      fake.coingeckoNow = SUNDAY_BACKFILL.getTime()
      const max = await runJob(env(SUNDAY_BACKFILL), { job: job(backfillMax, 'backfill_prices_max'), parameters: { symbols: ['BTC'] } })
      expect(max.status, max.message).toBe('SUCCESS')
      const fromMax = new Map((await bars()).map((b) => [b.date, b]))
      for (const bar of fromYear) expect(fromMax.get(bar.date), bar.date).toEqual(bar)

      // and a 7D run (hourly points, were it asked for 7 days) gives the same bars again
      const week = await runJob(env(AFTER_CLOSE), { job: job(historical, 'ingest_prices_historical'), parameters: { range: '7D', symbols: ['BTC'] } })
      expect(week.result).toMatchObject({ rowsInserted: 0, rowsUpdated: 0 })
    } finally {
      fake.coingeckoNow = undefined
    }
  })

  it('builds hourly crypto bars of the UTC day from 5-minutely points, each hour with its own high and low', async () => {
    const noon = new Date('2025-01-15T17:10:00Z') // 12:10 in New York
    fake.coingeckoNow = noon.getTime()
    try {
      const outcome = await runJob(env(noon), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['BTC'] } })
      expect(outcome.status, outcome.message).toBe('SUCCESS')
      const { rows } = await sql<{ ts: Date; date: string; open: string; high: string; low: string; close: string }>`
        select ts, date::text, open::text, high::text, low::text, close::text from price_bars_hourly where symbol = 'BTC' order by ts`.execute(db.db)
      expect(rows.map((r) => r.ts.toISOString().slice(11, 13))).toEqual(Array.from({ length: 18 }, (_, h) => String(h).padStart(2, '0')))
      expect(new Set(rows.map((r) => r.date))).toEqual(new Set(['2025-01-15']))
      expect(Number(rows[3]!.high)).toBeGreaterThan(Number(rows[3]!.low))
    } finally {
      fake.coingeckoNow = undefined
    }
  })
})

describe('prices: Polygon’s free plan keeps 2 years', () => {
  // one page per answer: a MAX window in pages of 10 would be hundreds of requests
  let whole: FakeProviders
  let wholeConfig: Config
  beforeAll(async () => {
    whole = await startFakeProviders()
    whole.polygonHistoryFrom = Date.parse('2023-01-15T05:00:00Z')
    wholeConfig = loadConfig({ ...tw.env, POLYGON_BASE_URL: whole.url, POLYGON_API_KEY: 'pk' })
  })
  afterAll(async () => {
    await whole?.close()
  })
  it('says in the ledger row which symbols were cut to 2 years, and why, when a MAX backfill gets fewer bars', async () => {
    {
      const outcome = await runJob(env(AFTER_CLOSE, wholeConfig), { job: job(backfillMax, 'backfill_prices_max'), parameters: { symbols: ['AAPL', 'KIMpL'] } })
      expect(outcome.status, outcome.message).toBe('SUCCESS')
      const [run] = await ledgerRows(db, 'backfill_prices_max')
      expect(run!.error_message).toBe(
        "warning: AAPL (Polygon's free plan serves 2 years of history: bars from 2023-01-17, not 2000-01-01); KIMpL (Polygon's free plan serves 2 years of history: bars from 2023-01-17, not 2000-01-01)",
      )
    }
  })

  it('names the plan, not a bare 403, when a window lies wholly before what the plan keeps', async () => {
    {
      // a run on a day two years back: its 7 days are all before the horizon
      const outcome = await runJob(env(new Date('2022-06-15T21:30:00Z'), wholeConfig), {
        job: job(historical, 'ingest_prices_historical'),
        parameters: { range: '7D', symbols: ['AAPL'] },
      })
      expect(outcome.status).toBe('FAILED')
      expect(outcome.message).toMatch(/every symbol failed: AAPL \(Polygon's free plan does not include 2022-06-08…2022-06-15: it serves 2 years of history \(HTTP 403 NOT_AUTHORIZED: Your plan doesn't include this data timeframe\. Please upgrade your plan at https:\/\/polygon\.io\/pricing\); set POLYGON_PLAN/)
    }
  })
})

describe('prices: hourly bars with extended hours', () => {
  it('stores Polygon’s 16 hourly bars of a day with their session, 7 of them regular', async () => {
    const outcome = await runJob(env(new Date('2025-01-15T16:00:00Z')), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    const { rows } = await sql<{ session: string; n: number; first: string; last: string }>`
      select session, count(*)::int as n, min(to_char(ts at time zone 'America/New_York', 'HH24:MI')) as first,
        max(to_char(ts at time zone 'America/New_York', 'HH24:MI')) as last
      from price_bars_hourly where symbol = 'AAPL' group by session order by first`.execute(db.db)
    expect(rows).toEqual([
      { session: 'pre', n: 5, first: '04:00', last: '08:00' },
      { session: 'regular', n: 7, first: '09:00', last: '15:00' },
      { session: 'post', n: 4, first: '16:00', last: '19:00' },
    ])
    const deps = { cache: undefined, warehouse: async () => db, now: new Date('2025-01-15T16:00:00Z'), log: silentLogger }
    expect((await readPrices('AAPL', '1D', deps)).bars).toHaveLength(16)
    expect((await readPrices('AAPL', '1D', deps, { regularSession: true })).bars.map((b) => b.t.slice(11, 13))).toEqual(['14', '15', '16', '17', '18', '19', '20'])
  })

  it('runs from 04:00 to 21:00 New York on a trading day, so the 20:30 run collects the 19:00 bar', async () => {
    const late = await runJob(env(new Date('2025-01-16T01:30:00Z')), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(late.status, late.message).toBe('SUCCESS')
    const { rows } = await sql<{ last: string }>`select max(to_char(ts at time zone 'America/New_York', 'HH24:MI')) as last from price_bars_hourly`.execute(db.db)
    expect(rows[0]!.last).toBe('19:00')
    const early = await runJob(env(new Date('2025-01-15T09:30:00Z')), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(early.status, early.message).toBe('SUCCESS') // 04:30: the pre-market bar of today
    const skipped = await runJob(env(new Date('2025-01-16T02:05:00Z')), { job: job(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(skipped.status).toBe('SKIPPED')
    expect(skipped.message).toMatch(/^after extended hours \(2025-01-15: they close at 20:00 New York\)/)
    expect(hourly.schedule).toBe('30 4-20 * * 1-5')
  })
})
