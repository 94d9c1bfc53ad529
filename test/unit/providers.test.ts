import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpClient, type HttpClientOptions, type HttpLimits } from '../../src/io/http.js'
import { polygonProvider } from '../../src/prices/polygon.js'
import { POLYGON_HOSTS } from '../../src/prices/sources.js'
import type { Asset } from '../../src/prices/types.js'
import { startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'

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
