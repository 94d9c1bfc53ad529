import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHttpClient, HttpError, RateGate, retryAfter, type HttpClient, type HttpLimits } from '../../src/io/http.js'
import { startFakeProviders, type FakeProviders } from '../helpers/fake-providers.js'

let fake: FakeProviders
let clients: HttpClient[] = []

beforeAll(async () => {
  fake = await startFakeProviders()
})
afterAll(async () => {
  await fake.close()
})
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()))
  clients = []
})

const fast: Partial<HttpLimits> = { minIntervalMs: 0, backoffMs: 10, maxBackoffMs: 40, timeoutMs: 300, retries: 2 }
function client(limits: Partial<HttpLimits> = {}, headers: Record<string, string> = {}): HttpClient {
  const c = createHttpClient({ name: 'polygon', baseUrl: fake.url, limits: { ...fast, ...limits }, headers })
  clients.push(c)
  return c
}

describe('http client against a local server', () => {
  it('reads JSON and sends the API key in a header, never in the URL', async () => {
    const body = await client({}, { authorization: 'Bearer sekrit-key' }).getJson<{ ticker: string }>('/v2/aggs/ticker/AAPL/prev')
    expect(body.ticker).toBe('AAPL')
    const [req] = fake.seen('/v2/aggs/ticker/AAPL/prev').slice(-1)
    expect(req!.headers.authorization).toBe('Bearer sekrit-key')
    expect(req!.query.toString()).not.toContain('sekrit')
  })

  it('retries a 429 after the Retry-After it was given', async () => {
    fake.once('/v2/aggs/ticker/RL/prev', { status: 429, headers: { 'retry-after': '1' }, body: { status: 'ERROR', error: 'slow down' } })
    const c = client()
    const t0 = Date.now()
    const body = await c.getJson<{ ticker: string }>('/v2/aggs/ticker/RL/prev')
    expect(body.ticker).toBe('RL')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
    expect(c.stats).toMatchObject({ requests: 2, retries: 1 })
  })

  it('retries 500s with backoff and gives up after the bounded number of attempts', async () => {
    fake.once('/v2/aggs/ticker/FLAKY/prev', { status: 500 }, { status: 503 })
    expect(await client().getJson('/v2/aggs/ticker/FLAKY/prev')).toMatchObject({ ticker: 'FLAKY' })
    const c = client()
    const error = await c.getJson('/v2/aggs/ticker/DOWN/prev').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect((error as HttpError).status).toBe(500)
    expect((error as HttpError).message).toBe('polygon GET /v2/aggs/ticker/DOWN/prev: HTTP 500: upstream unavailable after 3 attempts')
    expect(c.stats.requests).toBe(3)
  })

  it('times out a request that hangs, retries it, and fails it in bounded time', async () => {
    const c = client({ timeoutMs: 200, retries: 1 })
    const t0 = Date.now()
    const error = await c.getJson('/v2/aggs/ticker/HANG/prev').catch((e: unknown) => e)
    expect((error as Error).message).toBe('polygon GET /v2/aggs/ticker/HANG/prev: timed out after 2 attempts')
    expect(Date.now() - t0).toBeLessThan(5000) // undici checks timeouts on a coarse timer
  })

  it('does not retry a 404 or a malformed body', async () => {
    const c = client()
    await expect(c.getJson('/v2/aggs/ticker/MISSING/prev')).rejects.toThrow(/HTTP 404/)
    await expect(c.getJson('/v2/aggs/ticker/BROKEN/prev')).rejects.toThrow(/malformed JSON/)
    expect(c.stats.requests).toBe(2)
  })

  it('refuses a next_url on another host, so the key cannot leak there', async () => {
    await expect(client().getJson('http://example.com/v2/aggs')).rejects.toThrow(/refusing to follow http:\/\/example.com/)
  })

  it('fails for good when Retry-After is longer than it is willing to wait', async () => {
    fake.once('/v2/aggs/ticker/LONG/prev', { status: 429, headers: { 'retry-after': '3600' } })
    await expect(client({ maxRetryAfterMs: 1000 }).getJson('/v2/aggs/ticker/LONG/prev')).rejects.toThrow(/Retry-After 3600s is longer than we wait/)
  })

  it('spaces request starts by the configured interval, concurrency or not', async () => {
    const c = client({ minIntervalMs: 100, concurrency: 4 })
    const before = fake.requests.length
    await Promise.all(['A1', 'A2', 'A3', 'A4', 'A5'].map((t) => c.getJson(`/v2/aggs/ticker/${t}/prev`)))
    const starts = fake.requests.slice(before).map((r) => r.at)
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(90)
  })
})

describe('http helpers', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfter('2')).toBe(2000)
    expect(retryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('2015-10-21T07:28:00Z'))).toBe(5000)
    expect(retryAfter(undefined)).toBeUndefined()
    expect(retryAfter('soon')).toBeUndefined()
  })

  it('never has more than its concurrency in flight', async () => {
    const gate = new RateGate(0, 2)
    let active = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const release = await gate.acquire()
        active++
        most = Math.max(most, active)
        await new Promise((r) => setTimeout(r, 10))
        active--
        release()
      }),
    )
    expect(most).toBe(2)
  })
})
