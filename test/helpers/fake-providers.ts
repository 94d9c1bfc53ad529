import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { DateTime } from 'luxon'
import { isTradingDay, MARKET_ZONE } from '../../src/time/market.js'

/**
 * A real HTTP server on 127.0.0.1 that speaks the parts of Polygon's and CoinGecko's APIs that
 * nightshift uses, in their JSON shapes, with the faults real APIs have: 429 with Retry-After,
 * 500s, a request that hangs, `next_url` pages, empty tickers and malformed bodies. And as the
 * providers really answer: Polygon's bare 429 (no rate-limit headers), case-sensitive tickers
 * (KIMpL), hourly bars with extended hours (04:00–19:00 New York), `next_url` on api.massive.com,
 * a plan's history horizon (fewer bars, or 403 NOT_AUTHORIZED); CoinGecko's points graded by
 * span (5-minutely, hourly, daily at 00:00 UTC plus "now"), its x-ratelimit-reset 429 and its
 * 401 error_code 10012 past a Demo key's 365 days. The values are this file's own.
 *
 * Tickers with special behaviour: EMPTY (resultsCount 0), BROKEN (malformed JSON), MISSING (404),
 * HANG (never answers), DOWN (always 500). CoinGecko ids: the same names in lower case.
 */
export type FakeResponse =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'hang'
  | 'malformed'

export interface SeenRequest {
  path: string
  query: URLSearchParams
  headers: http.IncomingHttpHeaders
  at: number
}

export interface FakeProviders {
  readonly url: string
  readonly requests: SeenRequest[]
  /** The next requests whose path contains `pathPart` get these answers, in order. */
  once(pathPart: string, ...responses: FakeResponse[]): void
  /** Requests whose path contains `pathPart`. */
  seen(pathPart: string): SeenRequest[]
  /**
   * A Demo key's horizon: market_chart/range from earlier than this instant (Unix ms) answers
   * 401 error_code 10012, as CoinGecko does past 365 days. Undefined: no horizon.
   */
  coingeckoHistoryFrom: number | undefined
  /**
   * A Polygon plan's horizon (Unix ms; Basic keeps 2 years): aggregates before it are left out of
   * a 200, and a window wholly before it answers 403 NOT_AUTHORIZED. Undefined: all history.
   */
  polygonHistoryFrom: number | undefined
  /** CoinGecko's "now" (Unix ms) for the last point of a range that reaches it; default the real clock. */
  coingeckoNow: number | undefined
  close(): Promise<void>
}

export interface FakeOptions {
  /** Added before every answer. */
  latencyMs?: number
  /** Share of requests answered 500 or 429 (Retry-After: 0) at random, for the bench. */
  faultRate?: number
  /** Polygon aggregates per page before a `next_url`. */
  pageSize?: number
  /** The host `next_url` names, on this server's port (Polygon now answers with api.massive.com); default this server's address. */
  nextHost?: string
  seed?: number
}

export async function startFakeProviders(options: FakeOptions = {}): Promise<FakeProviders> {
  const requests: SeenRequest[] = []
  const scripted: Array<{ pathPart: string; response: FakeResponse }> = []
  const hanging = new Set<http.ServerResponse>()
  let state = options.seed ?? 7
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
  let url = ''
  const fake = { coingeckoHistoryFrom: undefined as number | undefined, coingeckoNow: undefined as number | undefined, polygonHistoryFrom: undefined as number | undefined }

  const server = http.createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://fake')
    requests.push({ path: parsed.pathname, query: parsed.searchParams, headers: req.headers, at: Date.now() })
    const answer = () => {
      const i = scripted.findIndex((s) => parsed.pathname.includes(s.pathPart))
      const response = i >= 0 ? scripted.splice(i, 1)[0]!.response : route(parsed)
      send(res, response)
    }
    if (options.faultRate && random() < options.faultRate) {
      const fault: FakeResponse = random() < 0.5 ? { status: 500, body: { error: 'internal' } } : { status: 429, headers: { 'retry-after': '0' }, body: polygonError('too many requests') }
      setTimeout(() => send(res, fault), options.latencyMs ?? 0)
      return
    }
    if (options.latencyMs) setTimeout(answer, options.latencyMs)
    else answer()
  })

  function send(res: http.ServerResponse, response: FakeResponse): void {
    if (response === 'hang') {
      hanging.add(res)
      return
    }
    if (response === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ticker":"BROKEN","results":[{"o":1,')
      return
    }
    res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers })
    res.end(typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? {}))
  }

  function route(u: URL): FakeResponse {
    const p = u.pathname
    let m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/1\/(day|hour)\/([^/]+)\/([^/]+)$/.exec(p)
    if (m) return polygonAggs(decodeURIComponent(m[1]!), m[2] as 'day' | 'hour', m[3]!, m[4]!, u)
    m = /^\/v2\/aggs\/ticker\/([^/]+)\/prev$/.exec(p)
    if (m) return polygonPrev(decodeURIComponent(m[1]!))
    m = /^\/api\/v3\/coins\/([^/]+)\/market_chart\/range$/.exec(p)
    if (m) {
      const from = Number(u.searchParams.get('from'))
      if (fake.coingeckoHistoryFrom !== undefined && from * 1000 < fake.coingeckoHistoryFrom) return coingeckoHistoryLimited()
      return coingeckoRange(m[1]!, from, Number(u.searchParams.get('to')))
    }
    if (p === '/api/v3/simple/price') return coingeckoSimple((u.searchParams.get('ids') ?? '').split(','))
    return { status: 404, body: { status: 'NOT_FOUND', message: 'Not found' } }
  }

  function special(ticker: string): FakeResponse | undefined {
    if (ticker === 'BROKEN' || ticker === 'broken') return 'malformed'
    if (ticker === 'HANG' || ticker === 'hang') return 'hang'
    if (ticker === 'DOWN' || ticker === 'down') return { status: 500, body: { error: 'upstream unavailable' } }
    if (ticker === 'MISSING') return { status: 404, body: { status: 'NOT_FOUND', request_id: 'x', message: 'Ticker not found.' } }
    if (ticker === 'missing') return { status: 404, body: { error: 'coin not found' } }
    return undefined
  }

  function polygonAggs(ticker: string, span: 'day' | 'hour', from: string, to: string, u: URL): FakeResponse {
    const bad = special(ticker)
    if (bad) return bad
    // Polygon tickers are case-sensitive: KIMPL is no ticker at all, so no bars (a 200, resultsCount 0)
    if (ticker === 'EMPTY' || PREFERRED.some((p) => p !== ticker && p.toUpperCase() === ticker.toUpperCase())) {
      return { status: 200, body: { ticker, queryCount: 0, resultsCount: 0, adjusted: true, status: 'OK', request_id: 'r', count: 0 } }
    }
    const horizon = fake.polygonHistoryFrom
    if (horizon !== undefined && dayOf(to).endOf('day').toMillis() < horizon) {
      return { status: 403, body: { status: 'NOT_AUTHORIZED', request_id: 'f0e1', message: "Your plan doesn't include this data timeframe. Please upgrade your plan at https://polygon.io/pricing" } }
    }
    const all = (span === 'day' ? dailyBars(ticker, from, to) : hourlyBars(ticker, from)).filter((b) => horizon === undefined || b.t! >= horizon)
    const pageSize = options.pageSize ?? 50_000
    const offset = Number(u.searchParams.get('cursor') ?? 0)
    const results = all.slice(offset, offset + pageSize)
    const origin = options.nextHost ? `http://${options.nextHost}:${new URL(url).port}` : url
    const next = offset + pageSize < all.length ? `${origin}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/1/${span}/${from}/${to}?cursor=${offset + pageSize}` : undefined
    return {
      status: 200,
      body: { ticker, queryCount: results.length, resultsCount: results.length, adjusted: true, results, status: 'OK', request_id: 'r', count: results.length, ...(next ? { next_url: next } : {}) },
    }
  }

  function polygonPrev(ticker: string): FakeResponse {
    const bad = special(ticker)
    if (bad) return bad
    if (ticker === 'EMPTY') return { status: 200, body: { ticker, queryCount: 0, resultsCount: 0, adjusted: true, status: 'OK', request_id: 'r', count: 0 } }
    const bar = dailyBars(ticker, '2025-01-02', '2025-01-10').at(-1)!
    return { status: 200, body: { ticker, queryCount: 1, resultsCount: 1, adjusted: true, results: [{ T: ticker, ...bar }], status: 'OK', request_id: 'r', count: 1 } }
  }

  /**
   * market_chart/range as CoinGecko grades it by the span asked: 5-minutely points within a day,
   * hourly up to 90 days (both a few seconds past the mark, as the real ones are), one point a
   * day at 00:00 UTC beyond, plus a last "now" point when the range reaches the present.
   */
  function coingeckoRange(id: string, fromS: number, toS: number): FakeResponse {
    const bad = special(id)
    if (bad) return bad
    const span = toS - fromS
    const [step, offset] = span <= 86_400 ? [300, 7] : span <= 90 * 86_400 ? [3600, 23] : [86_400, 0]
    const times: number[] = []
    for (let s = Math.ceil((fromS - offset) / step) * step + offset; s <= toS; s += step) if (s >= fromS) times.push(s)
    const nowS = Math.floor((fake.coingeckoNow ?? Date.now()) / 1000)
    if (toS >= nowS && times.at(-1) !== nowS && nowS >= fromS) times.push(nowS)
    const prices = times.map((s): [number, number] => [s * 1000, fakeCoinPrice(id, s)])
    const volumes = prices.map(([t, p]): [number, number] => [t, p * 1_000])
    return { status: 200, body: { prices, market_caps: prices.map(([t, p]) => [t, p * 19_000_000]), total_volumes: volumes } }
  }

  function coingeckoSimple(ids: string[]): FakeResponse {
    if (ids.includes('broken')) return 'malformed'
    const body: Record<string, unknown> = {}
    for (const id of ids) {
      if (!id || id === 'missing') continue // CoinGecko leaves unknown ids out of the answer
      body[id] = { usd: fakeCoinPrice(id, 1_736_000_000), usd_24h_vol: 123_456_789.5, usd_24h_change: 1.25, last_updated_at: 1_736_000_000 }
    }
    return { status: 200, body }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return Object.assign(fake, {
    url,
    requests,
    once(pathPart: string, ...responses: FakeResponse[]) {
      for (const response of responses) scripted.push({ pathPart, response })
    },
    seen: (pathPart: string) => requests.filter((r) => r.path.includes(pathPart)),
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  })
}

/** Preferred shares, whose tickers have a lower-case letter: only this spelling has bars. */
export const PREFERRED = ['KIMpL', 'PSApK']

function hashOf(text: string): number {
  let h = 2_166_136_261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619)
  return h >>> 0
}

/** A date (YYYY-MM-DD) or Unix milliseconds, as Polygon accepts both. */
function dayOf(value: string): DateTime {
  return /^\d+$/.test(value) ? DateTime.fromMillis(Number(value), { zone: MARKET_ZONE }).startOf('day') : DateTime.fromISO(value, { zone: MARKET_ZONE })
}

/** Polygon daily aggregates: one per trading day, `t` at New York midnight. Indices have no volume. */
export function dailyBars(ticker: string, from: string, to: string): Array<Record<string, number>> {
  const base = 50 + (hashOf(ticker) % 400)
  const out: Array<Record<string, number>> = []
  for (let d = dayOf(from); d <= dayOf(to); d = d.plus({ days: 1 })) {
    if (!isTradingDay(d.toISODate()!)) continue
    const k = Math.floor(d.toMillis() / 86_400_000) % 17
    const o = round(base + k)
    const c = round(base + k + 0.5)
    const bar: Record<string, number> = { o, h: round(c + 1), l: round(o - 1), c, t: d.toMillis() }
    if (!ticker.startsWith('I:')) Object.assign(bar, { v: 1_000_000 + k * 1000, vw: round((o + c) / 2), n: 5000 + k })
    out.push(bar)
  }
  return out
}

/** Polygon hourly aggregates of one day with extended hours: 04:00 to 19:00 New York, 16 bars. */
export function hourlyBars(ticker: string, day: string): Array<Record<string, number>> {
  const d = dayOf(day)
  if (!isTradingDay(d.toISODate()!)) return []
  const base = 50 + (hashOf(ticker) % 400)
  return Array.from({ length: 16 }, (_, i) => i + 4).map((hour) => {
    const o = round(base + hour / 10)
    const c = round(o + 0.05)
    return { o, h: round(c + 0.1), l: round(o - 0.1), c, v: 10_000 + hour, vw: round((o + c) / 2), n: 100 + hour, t: d.set({ hour }).toMillis() }
  })
}

export function fakeCoinPrice(id: string, unixSeconds: number): number {
  const base = id === 'bitcoin' ? 60_000 : 1000 + (hashOf(id) % 3000)
  // moves by the hour over two days, and by the 5 minutes within the hour
  return round(base + (Math.floor(unixSeconds / 3600) % 48) * 3.25 + (Math.floor(unixSeconds / 300) % 12) * 0.5)
}

const round = (n: number) => Math.round(n * 10_000) / 10_000

function polygonError(message: string) {
  return { status: 'ERROR', request_id: 'r', error: message }
}

/** Polygon's 429: no Retry-After, no rate-limit headers, only an ERROR body. */
export function polygonRateLimited(): FakeResponse {
  return { status: 429, body: polygonError("You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://polygon.io/pricing") }
}

/** CoinGecko's 401 for a range a Demo key may not see: the reason nested in `error.status`. */
export function coingeckoHistoryLimited(): FakeResponse {
  return {
    status: 401,
    body: {
      error: {
        status: {
          timestamp: '2025-01-15T21:30:00.417+00:00',
          error_code: 10012,
          error_message:
            'Your request exceeds the allowed time range. Public API users are limited to querying historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical data access: https://www.coingecko.com/en/api/pricing. ',
        },
      },
    },
  }
}

/** CoinGecko's 429: x-ratelimit-* headers (the reset as Unix seconds) and its `status` error body. */
export function coingeckoRateLimited(resetAtSeconds: number, extraHeaders: Record<string, string> = {}): FakeResponse {
  return {
    status: 429,
    headers: { 'x-ratelimit-limit': '30', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAtSeconds), ...extraHeaders },
    body: { status: { error_code: 429, error_message: "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits." } },
  }
}
