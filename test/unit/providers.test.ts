import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpClient, RateGate, type Clock, type HttpClientOptions, type HttpLimits } from '../../src/io/http.js'
import { checkPlans, planLimits } from '../../src/providers/plans.js'
import { providerNamed, providers, registerProvider } from '../../src/providers/index.js'
import { defineProvider } from '../../src/providers/provider.js'
import { validateJob } from '../../src/engine/registry.js'
import { renderCrontab } from '../../src/ops/crontab.js'
import { k8sManifests, renderManifestFiles, secretKeys } from '../../src/ops/k8s.js'
import { planSchedule } from '../../src/ops/schedule.js'
import { redact, secretVariables } from '../../src/redact.js'
import { coingeckoProvider } from '../../src/providers/coingecko.js'
import { POLYGON_HOSTS, polygonProvider } from '../../src/providers/polygon.js'
import { loadConfig } from '../../src/config.js'
import { openPriceSources } from '../../src/kinds/prices/sources.js'
import type { Asset } from '../../src/kinds/prices/types.js'
import { coingeckoRateLimited, polygonRateLimited, startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'

// The price clients against the local fake answering in the providers' real shapes (issue #18).
const fast: Partial<HttpLimits> = { minIntervalMs: 0, backoffMs: 10, maxBackoffMs: 40, timeoutMs: 500, retries: 2 }
const stock = (symbol: string): Asset => ({ symbol, assetClass: 'stock', provider: 'polygon', coingeckoId: null })

/** Resolves the providers' real host names to the local fake; everything else as usual. */
const toLocal: LookupFunction = (hostname, options, callback) => {
  if (!POLYGON_HOSTS.includes(hostname)) return dns.lookup(hostname, options, callback as never)
  if ((options as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }])
  else callback(null, '127.0.0.1', 4)
}

function polygon(fake: FakeProviders, extra: Partial<HttpClientOptions> = {}) {
  const http = createHttpClient({ name: 'polygon', baseUrl: fake.url, headers: { authorization: 'Bearer pk-test-key' }, knownHosts: POLYGON_HOSTS, limits: fast, lookup: toLocal, ...extra })
  return polygonProvider(http)
}

describe('Polygon next_url on its new host', () => {
  let fake: FakeProviders
  beforeAll(async () => {
    fake = await startFakeProviders({ pageSize: 5, nextHost: 'api.massive.com' })
  })
  afterAll(async () => {
    await fake.close()
  })

  it('follows a next_url on api.massive.com with the key in a header, never in the URL', async () => {
    const provider = polygon(fake)
    try {
      const bars = await provider.dailyBars(stock('AAPL'), '2025-01-02', '2025-01-15')
      expect(bars).toHaveLength(9) // 2, 3, 6, 7, 8, (9: Carter's funeral), 10, 13, 14, 15
      const pages = fake.seen('/v2/aggs/ticker/AAPL/range/1/day/')
      expect(pages).toHaveLength(2)
      expect(pages[1]!.headers.host).toMatch(/^api\.massive\.com:\d+$/)
      expect(pages[1]!.headers.authorization).toBe('Bearer pk-test-key')
      expect(pages.map((p) => p.query.toString()).join('&')).not.toContain('pk-test-key')
    } finally {
      await provider.close()
    }
  })

  it('still refuses a next_url on a host that is not Polygon’s', async () => {
    const provider = polygon(fake, { knownHosts: ['api.polygon.io'] })
    try {
      await expect(provider.dailyBars(stock('MSFT'), '2025-01-02', '2025-01-15')).rejects.toThrow(/refusing to follow http:\/\/api\.massive\.com:\d+, which is not one of/)
    } finally {
      await provider.close()
    }
  })
})

/** A clock whose sleeps end at once and move its time on; `starts` are the virtual times of request starts. */
function virtualClock(start = Date.parse('2025-01-15T15:00:00Z')) {
  let t = start
  const sleeps: number[] = []
  const clock: Clock = {
    now: () => t,
    async sleep(ms) {
      sleeps.push(ms)
      const until = t + ms
      await new Promise((resolve) => setImmediate(resolve))
      t = Math.max(t, until)
    },
  }
  return { clock, sleeps, at: () => t }
}

describe('429 without Retry-After, and the plans’ pacing', () => {
  let fake: FakeProviders
  beforeAll(async () => {
    fake = await startFakeProviders()
  })
  afterAll(async () => {
    await fake.close()
  })

  it('waits out a whole minute after Polygon’s bare 429, and nobody asks before that', async () => {
    const { clock, sleeps, at } = virtualClock()
    const http = createHttpClient({ name: 'polygon', baseUrl: fake.url, limits: { ...fast, minIntervalMs: 0 }, clock })
    try {
      fake.once('/v2/aggs/ticker/RATE/prev', polygonRateLimited())
      const t0 = at()
      const [first, second] = await Promise.all([http.getJson<{ ticker: string }>('/v2/aggs/ticker/RATE/prev'), new Promise((r) => setTimeout(r, 30)).then(() => http.getJson<{ ticker: string }>('/v2/aggs/ticker/OTHER/prev'))])
      expect([first.ticker, (second as { ticker: string }).ticker]).toEqual(['RATE', 'OTHER'])
      expect(sleeps).toContain(61_000)
      // the request that came during the pause started only after it
      expect(http.stats.lastStart! - t0).toBeGreaterThanOrEqual(61_000)
    } finally {
      await http.close()
    }
  })

  it('holds a request that was already waiting for its slot when the 429 came', async () => {
    const { clock, at } = virtualClock()
    const gate = new RateGate(1000, 4, clock)
    const t0 = at()
    ;(await gate.acquire())()
    const waiting = gate.acquire() // its slot is at t0 + 1 s
    gate.pauseFor(61_000)
    ;(await waiting)()
    expect(at() - t0).toBeGreaterThanOrEqual(61_000)
  })

  it('waits until CoinGecko’s x-ratelimit-reset, or its retry-after when that is longer', async () => {
    const { clock, sleeps, at } = virtualClock()
    const http = createHttpClient({ name: 'coingecko', baseUrl: fake.url, limits: { ...fast, minIntervalMs: 0 }, clock })
    try {
      fake.once('/api/v3/simple/price', coingeckoRateLimited(Math.floor(at() / 1000) + 17))
      await http.getJson('/api/v3/simple/price', { ids: 'bitcoin', vs_currencies: 'usd' })
      expect(sleeps).toEqual([17_000])
      fake.once('/api/v3/simple/price', coingeckoRateLimited(Math.floor(at() / 1000) + 5, { 'retry-after': '40' }))
      await http.getJson('/api/v3/simple/price', { ids: 'bitcoin', vs_currencies: 'usd' })
      expect(sleeps).toEqual([17_000, 40_000])
    } finally {
      await http.close()
    }
  })

  it('paces the free plans under their limits: 5 a minute for Polygon, 30 a minute for CoinGecko Demo', async () => {
    for (const [provider, plan, perMinute, path] of [
      ['polygon', 'free', 5, '/v2/aggs/ticker/PACE/prev'],
      ['coingecko', 'demo', 30, '/api/v3/simple/price'],
    ] as const) {
      const { clock } = virtualClock()
      const http = createHttpClient({ name: provider, baseUrl: fake.url, limits: { ...planLimits(provider, plan) }, clock })
      try {
        await Promise.all(Array.from({ length: perMinute + 1 }, () => http.getJson(path, { ids: 'bitcoin', vs_currencies: 'usd' })))
      } finally {
        await http.close()
      }
      // perMinute + 1 starts span at least a minute: no 60 s window holds more than perMinute
      expect(http.stats.lastStart! - http.stats.firstStart!).toBeGreaterThanOrEqual(60_000)
    }
    expect(() => planLimits('polygon', 'platinum')).toThrow("POLYGON_PLAN 'platinum' is not one of free starter developer advanced")
    expect(planLimits('polygon', undefined)).toEqual(planLimits('polygon', 'free'))
    expect(planLimits('coingecko', undefined)).toEqual(planLimits('coingecko', 'demo'))
  })
})

describe('providers’ error bodies', () => {
  let fake: FakeProviders
  beforeAll(async () => {
    fake = await startFakeProviders()
  })
  afterAll(async () => {
    await fake.close()
  })

  it('puts CoinGecko’s whole reason in the message, past 160 characters, with its error_code', async () => {
    fake.coingeckoHistoryFrom = Date.parse('2025-01-01T00:00:00Z')
    const warnings: string[] = []
    const http = createHttpClient({ name: 'coingecko', baseUrl: fake.url, limits: fast })
    const provider = coingeckoProvider(http, { now: () => new Date('2025-01-15T21:30:00Z'), warn: (_s, w) => warnings.push(w) })
    const btc: Asset = { symbol: 'BTC', assetClass: 'crypto', provider: 'coingecko', coingeckoId: 'bitcoin' }
    try {
      // wholly before what the key may see: nothing to clamp to, the provider's reason is the error
      const error = await provider.dailyBars(btc, '2023-01-01', '2023-03-01').catch((e: Error) => e)
      expect((error as Error).message).toMatch(
        /HTTP 401: 10012 Your request exceeds the allowed time range\. Public API users are limited to querying historical data within the past 365 days\. Upgrade to a paid plan to enjoy full historical data access: https:\/\/www\.coingecko\.com\/en\/api\/pricing\.$/,
      )
      expect(warnings).toEqual([])
    } finally {
      fake.coingeckoHistoryFrom = undefined
      await provider.close()
    }
  })

  it('names Polygon’s reason from its ERROR and NOT_AUTHORIZED bodies', async () => {
    fake.once('/v2/aggs/ticker/NOPE/prev', { status: 403, body: { status: 'NOT_AUTHORIZED', request_id: 'a1b2', message: 'You are not entitled to this data. Please upgrade your plan at https://polygon.io/pricing' } })
    const provider = polygon(fake)
    try {
      const quotes = await provider.latest([stock('NOPE')])
      expect((quotes.get('NOPE') as Error).message).toMatch(/HTTP 403: NOT_AUTHORIZED You are not entitled to this data\. Please upgrade your plan at https:\/\/polygon\.io\/pricing$/)
    } finally {
      await provider.close()
    }
  })
})

describe('no key and no network', () => {
  it('tells how to go on: the key to set, or USE_MOCK_DATA=1', async () => {
    const config = loadConfig({ POLYGON_BASE_URL: 'http://127.0.0.1:9', COINGECKO_BASE_URL: 'http://127.0.0.1:9', COINGECKO_PLAN: 'pro' })
    const sources = openPriceSources(config, { now: () => new Date('2025-01-15T21:30:00Z'), limits: { coingecko: { ...fast, retries: 0 } } })
    const btc: Asset = { symbol: 'BTC', assetClass: 'crypto', provider: 'coingecko', coingeckoId: 'bitcoin' }
    try {
      await expect(sources.providerFor(stock('AAPL')).dailyBars(stock('AAPL'), '2025-01-08', '2025-01-15')).rejects.toThrow(
        'no POLYGON_API_KEY: set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider',
      )
      await expect(sources.providerFor(btc).dailyBars(btc, '2025-01-08', '2025-01-15')).rejects.toThrow(
        /ECONNREFUSED.*; no COINGECKO_API_KEY: set COINGECKO_API_KEY, or USE_MOCK_DATA=1 for the built-in provider$/,
      )
    } finally {
      await sources.close()
    }
  })
})

describe('the provider registry: a provider is one file and one registration line', () => {
  const acmeAsset: Asset = { symbol: 'ACME', assetClass: 'stock', provider: 'acme', coingeckoId: null }
  const opened: Array<{ settings: Record<string, string | undefined>; plan: string | undefined }> = []
  // what a new file in src/providers/ declares
  const acme = defineProvider({
    name: 'acme',
    description: 'ACME quotes, for this test',
    assetClasses: ['stock'],
    settings: {
      apiKey: { variable: 'ACME_API_KEY', secret: true },
      baseUrl: { variable: 'ACME_BASE_URL', default: 'https://api.acme.test', check: (v) => (/^https?:\/\//.test(v) ? undefined : 'must be an http:// or https:// URL') },
      plan: { variable: 'ACME_PLAN' },
    },
    plans: { setting: 'plan', default: 'basic', presets: { basic: { minIntervalMs: 5_000, concurrency: 1 }, pro: { minIntervalMs: 50, concurrency: 8 } } },
    http: true,
    open(run) {
      opened.push({ settings: { ...run.settings }, plan: run.plan })
      const http = run.http({ baseUrl: run.settings.baseUrl!, headers: { authorization: `Bearer ${run.settings.apiKey}` } })
      const bar = { t: Date.parse('2025-01-14T05:00:00Z'), open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, vwap: null, trades: null }
      return { name: 'acme', dailyBars: async () => [bar], hourlyBars: async () => [], latest: async () => new Map(), close: () => http.close() }
    },
  })

  it('sees a registered provider in config, redaction, the k8s Secret, the crontab, job-file limits and the prices sources', async () => {
    const unregister = registerProvider(acme) // the registration line of src/providers/index.ts
    try {
      // config validation: its variables are read and checked by config.ts, its defaults applied
      expect(() => loadConfig({ ACME_BASE_URL: 'ftp://acme.test' })).toThrow(
        'environment variable ACME_BASE_URL must be an http:// or https:// URL; fix it or unset it',
      )
      const env = { ACME_API_KEY: 'acme-secret-4242', ACME_PLAN: 'Pro' }
      const config = loadConfig(env)
      expect(config.providerSettings.acme).toEqual({ apiKey: 'acme-secret-4242', baseUrl: 'https://api.acme.test', plan: 'Pro' })
      expect(() => checkPlans(loadConfig({ ACME_PLAN: 'gold' }).providerSettings)).toThrow("ACME_PLAN 'gold' is not one of basic pro")

      // redaction: its secret is masked wherever it appears
      expect(secretVariables()).toContain('ACME_API_KEY')
      expect(redact('GET /quotes failed with key acme-secret-4242', env)).toBe('GET /quotes failed with key ***')

      // ops: a key of the k8s Secret and a secret line of the crontab
      expect(secretKeys()).toEqual(['WAREHOUSE_DATABASE_URL', 'OLTP_DATABASE_URL', 'REDIS_URL', 'POLYGON_API_KEY', 'COINGECKO_API_KEY', 'ACME_API_KEY', 'ETL_ADMIN_TOKEN'])
      const plan = planSchedule([], { timezone: 'UTC' })
      const configMap = renderManifestFiles(k8sManifests(plan, { image: 'nightshift:test', timezone: 'UTC' })).find((f) => f.file === 'configmap.yaml')!
      expect(configMap.text).toContain('# and add REDIS_URL, POLYGON_API_KEY, COINGECKO_API_KEY, ACME_API_KEY, ETL_ADMIN_TOKEN where used.')
      expect(renderCrontab(plan, { home: '/opt/nightshift', logDir: '/var/log/nightshift', timezone: 'UTC' })).toContain('# COINGECKO_API_KEY=\n# ACME_API_KEY=\n')

      // a prices job file may pace it; a name that is no provider is refused
      const prices = (limits: object) => validateJob({ kind: 'prices', name: 'ingest_acme', limits }, 'jobs/prices/ingest_acme.ts')
      expect(prices({ acme: { minIntervalMs: 250 } }).definition).toMatchObject({ limits: { acme: { minIntervalMs: 250 } } })
      expect(() => prices({ polygn: {} })).toThrow("jobs/prices/ingest_acme.ts: field 'limits.polygn' is not a provider with limits (polygon coingecko acme)")

      // the prices sources open it for its assets, with its settings, its plan and the job file's limits over the plan's
      const sources = openPriceSources(config, { now: () => AFTER_CLOSE, limits: { acme: { concurrency: 2 } } })
      try {
        const provider = sources.providerFor(acmeAsset)
        expect(provider.name).toBe('acme')
        expect(await provider.dailyBars(acmeAsset, '2025-01-14', '2025-01-14')).toHaveLength(1)
        expect(sources.providerFor(acmeAsset)).toBe(provider) // opened once per run
        expect(opened).toEqual([{ settings: { apiKey: 'acme-secret-4242', baseUrl: 'https://api.acme.test', plan: 'Pro' }, plan: 'pro' }])
        expect(sources.clients.map((c) => [c.name, c.limits.minIntervalMs, c.limits.concurrency])).toEqual([['acme', 50, 2]])
      } finally {
        await sources.close()
      }
    } finally {
      unregister()
    }
    // and out again: nothing of it is left
    expect(providerNamed('acme')).toBeUndefined()
    expect(secretKeys()).not.toContain('ACME_API_KEY')
    expect(loadConfig({ ACME_BASE_URL: 'ftp://acme.test' }).providerSettings.acme).toBeUndefined()
    expect(() => validateJob({ kind: 'prices', name: 'ingest_acme', limits: { acme: {} } }, 'jobs/prices/ingest_acme.ts')).toThrow(/is not a provider with limits \(polygon coingecko\)/)
  })

  it('refuses a second provider of a name, or one reading a variable another reads', () => {
    expect(() => registerProvider({ ...acme, name: 'polygon' })).toThrow("provider 'polygon' is registered already")
    expect(() => registerProvider({ ...acme, settings: { ...acme.settings, apiKey: { variable: 'POLYGON_API_KEY', secret: true } } })).toThrow(
      "provider 'acme': POLYGON_API_KEY is read by another provider already",
    )
    expect(providers().map((p) => p.name)).toEqual(['polygon', 'coingecko', 'mock'])
  })
})

const AFTER_CLOSE = new Date('2025-01-15T21:30:00Z')
