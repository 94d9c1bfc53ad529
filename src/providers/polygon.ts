import { DateTime } from 'luxon'
import type { HttpClient, Query } from '../io/http.js'
import { MARKET_ZONE, marketDate, sessionOf } from '../time/market.js'
import { addDays, type IsoDate } from '../time/calendar.js'
import type { Asset, Bar, PriceProvider, ProviderOptions, Quote } from '../kinds/prices/types.js'
import { defineProvider, isHttpError, refusing } from './provider.js'

/** Polygon's hosts, old and new (Polygon.io is Massive since 2025): `next_url` may name either. */
export const POLYGON_HOSTS = ['api.polygon.io', 'api.massive.com']

/** Years of history each Polygon plan serves (Basic 2, Starter 5, Developer 10, Advanced 20+). */
export const POLYGON_HISTORY_YEARS: Record<string, number> = { free: 2, starter: 5, developer: 10, advanced: 20 }

/** Stocks, ETFs and indices; a symbol not in the assets list is a Polygon ticker (`I:` an index). */
export const polygon = defineProvider({
  name: 'polygon',
  description: 'Polygon.io aggregates: stocks, ETFs, indices',
  assetClasses: ['stock', 'etf', 'index'],
  unlisted: (symbol) => (symbol.startsWith('I:') ? 'index' : 'stock'),
  settings: {
    apiKey: { variable: 'POLYGON_API_KEY', secret: true },
    baseUrl: { variable: 'POLYGON_BASE_URL', default: 'https://api.polygon.io' },
    plan: { variable: 'POLYGON_PLAN' },
  },
  // Basic (free) allows 5 requests a minute; the paid plans have no per-minute cap, so they keep
  // the design's 5 a second
  plans: {
    setting: 'plan',
    default: 'free',
    presets: {
      free: { minIntervalMs: 12_000, concurrency: 1 },
      starter: { minIntervalMs: 200, concurrency: 4 },
      developer: { minIntervalMs: 200, concurrency: 4 },
      advanced: { minIntervalMs: 200, concurrency: 4 },
    },
  },
  http: true,
  open(run) {
    const { apiKey, baseUrl } = run.settings
    const http = run.http({
      baseUrl: baseUrl!,
      // Polygon takes the key as a bearer token; the query-string form would put it in URLs
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      knownHosts: POLYGON_HOSTS,
    })
    const plan = run.plan ?? 'free'
    const provider = polygonProvider(http, { now: run.now, warn: run.warn, plan, historyYears: POLYGON_HISTORY_YEARS[plan] })
    // Polygon answers nothing without a key: say what to do instead of asking
    return apiKey ? provider : refusing(provider, 'no POLYGON_API_KEY: set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider')
  },
})

/**
 * Polygon.io aggregates (stocks, ETFs, indices such as I:SPX):
 * `/v2/aggs/ticker/{T}/range/1/day|hour/{from}/{to}` following `next_url` pages, and
 * `/v2/aggs/ticker/{T}/prev` for the latest close. `resultsCount: 0` is an empty answer.
 */
export function polygonProvider(http: HttpClient, options: ProviderOptions & { plan?: string; historyYears?: number } = {}): PriceProvider {
  const ticker = (asset: Asset) => encodeURIComponent(asset.symbol)
  const now = options.now ?? (() => new Date())
  const plan = options.plan ?? 'free'
  const years = options.historyYears ?? 2

  /**
   * Polygon's plans keep a few years of history: a window partly before that answers 200 with
   * the bars it keeps, one wholly before it 403 NOT_AUTHORIZED. Both are said in plain words.
   */
  async function withinPlan(asset: Asset, from: IsoDate, to: IsoDate, fetch: () => Promise<Bar[]>): Promise<Bar[]> {
    const horizon = DateTime.fromJSDate(now(), { zone: MARKET_ZONE }).minus({ years }).toISODate()!
    let bars: Bar[]
    try {
      bars = await fetch()
    } catch (error) {
      const body = isHttpError(error) ? (error.body as { status?: string; message?: string } | undefined) : undefined
      if (isHttpError(error) && error.status === 403 && body?.status === 'NOT_AUTHORIZED' && /timeframe/i.test(body.message ?? '')) {
        throw new Error(
          `Polygon's ${plan} plan does not include ${from}…${to}: it serves ${years} years of history (HTTP 403 NOT_AUTHORIZED: ${body.message}); set POLYGON_PLAN to the key's plan or ask for a later range`,
        )
      }
      throw error
    }
    const first = bars[0] ? marketDate(bars[0].t) : undefined
    // bars starting at the horizon, long after the day asked: the plan cut them, not the listing
    if (first && from < horizon && first > addDays(from, 7) && first <= addDays(horizon, 10)) {
      options.warn?.(asset.symbol, `Polygon's ${plan} plan serves ${years} years of history: bars from ${first}, not ${from}`)
    }
    return bars
  }

  async function aggregates(path: string): Promise<Bar[]> {
    const bars: Bar[] = []
    let next: string | undefined = path
    let query: Query | undefined = { adjusted: 'true', sort: 'asc', limit: 50_000 }
    for (let page = 0; next; page++) {
      if (page > 10_000) throw new Error('polygon: more than 10,000 pages of next_url; giving up')
      const body = asObject(await http.getJson(next, query), next)
      checkStatus(body)
      for (const r of results(body)) bars.push(toBar(r))
      // next_url already carries the cursor and the query; the key goes in a header, not in it
      next = typeof body.next_url === 'string' && body.next_url ? body.next_url : undefined
      query = undefined
    }
    return bars
  }

  return {
    name: 'polygon',
    async dailyBars(asset, from: IsoDate, to: IsoDate) {
      const bars = await withinPlan(asset, from, to, () => aggregates(`/v2/aggs/ticker/${ticker(asset)}/range/1/day/${from}/${to}`))
      return bars.filter((b) => {
        const d = marketDate(b.t)
        return d >= from && d <= to
      })
    },
    async hourlyBars(asset, date: IsoDate) {
      const bars = await aggregates(`/v2/aggs/ticker/${ticker(asset)}/range/1/hour/${date}/${date}`)
      return bars.filter((b) => marketDate(b.t) === date)
    },
    async latest(assets) {
      const out = new Map<string, Quote | Error>()
      await Promise.all(
        assets.map(async (asset) => {
          try {
            const body = asObject(await http.getJson(`/v2/aggs/ticker/${ticker(asset)}/prev`, { adjusted: 'true' }), 'prev')
            checkStatus(body)
            const [last] = results(body).map(toBar)
            if (!last) throw new Error('no previous close (resultsCount 0)')
            // a daily bar is stamped at New York midnight; its close was seen at the closing bell
            const asOf = sessionOf(marketDate(last.t))?.close.getTime() ?? last.t
            out.set(asset.symbol, { price: last.close, changePercent: null, volume: last.volume, asOf })
          } catch (error) {
            out.set(asset.symbol, error as Error)
          }
        }),
      )
      return out
    },
    close: () => http.close(),
  }
}

type Json = Record<string, unknown>

function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`polygon: unexpected answer to ${what}: not an object`)
  return value as Json
}

function checkStatus(body: Json): void {
  if (body.status === 'ERROR' || body.status === 'NOT_AUTHORIZED') {
    throw new Error(`polygon: ${String(body.error ?? body.message ?? body.status)}`)
  }
}

function results(body: Json): Json[] {
  if (body.resultsCount === 0 || body.results === undefined || body.results === null) return []
  if (!Array.isArray(body.results)) throw new Error('polygon: unexpected answer: results is not an array')
  return body.results as Json[]
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function toBar(r: Json): Bar {
  const [t, open, high, low, close] = [num(r.t), num(r.o), num(r.h), num(r.l), num(r.c)]
  if (t === null || open === null || high === null || low === null || close === null) {
    throw new Error(`polygon: unexpected bar ${JSON.stringify(r).slice(0, 120)}`)
  }
  // indices carry no volume, vwap or trade count
  return { t, open, high, low, close, volume: num(r.v), vwap: num(r.vw), trades: num(r.n) }
}
