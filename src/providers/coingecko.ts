import { DateTime } from 'luxon'
import type { HttpClient } from '../io/http.js'
import { addDays, type IsoDate } from '../time/calendar.js'
import type { Asset, Bar, PriceProvider, ProviderOptions, Quote } from '../kinds/prices/types.js'
import { defineProvider, hinting, isHttpError } from './provider.js'

/** Crypto, by each asset's `coingecko_id`. */
export const coingecko = defineProvider({
  name: 'coingecko',
  description: 'CoinGecko: crypto, in UTC days',
  assetClasses: ['crypto'],
  settings: {
    apiKey: { variable: 'COINGECKO_API_KEY', secret: true },
    baseUrl: { variable: 'COINGECKO_BASE_URL', default: 'https://api.coingecko.com' },
    plan: { variable: 'COINGECKO_PLAN' },
  },
  // Demo 30 calls a minute, Analyst and Lite 500, Pro 1000
  plans: {
    setting: 'plan',
    default: 'demo',
    presets: {
      demo: { minIntervalMs: 2_000, concurrency: 1 },
      analyst: { minIntervalMs: 120, concurrency: 4 },
      lite: { minIntervalMs: 120, concurrency: 4 },
      pro: { minIntervalMs: 60, concurrency: 4 },
    },
  },
  http: true,
  utcDays: true,
  open(run) {
    const { apiKey, baseUrl } = run.settings
    const header = /pro-api\./.test(baseUrl!) ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key'
    const provider = coingeckoProvider(run.http({ baseUrl: baseUrl!, headers: apiKey ? { [header]: apiKey } : {} }), { now: run.now, warn: run.warn })
    // CoinGecko answers without a key too, but when it cannot be reached the user needs the way out
    return apiKey ? provider : hinting(provider, 'no COINGECKO_API_KEY: set COINGECKO_API_KEY, or USE_MOCK_DATA=1 for the built-in provider')
  },
})

/** CoinGecko takes up to this many ids in one `simple/price` call. */
export const COINGECKO_IDS_PER_CALL = 50

/** error_code of a 401 for a range older than the key may see ("…within the past 365 days"). */
const HISTORY_LIMITED = 10012
const DEMO_HISTORY_DAYS = 365

/** CoinGecko's own error code, from `{ status: { error_code } }` or `{ error: { status: { error_code } } }`. */
export function coingeckoErrorCode(body: unknown): number | undefined {
  const b = body as { status?: { error_code?: unknown }; error?: { status?: { error_code?: unknown } } } | undefined
  const code = b?.status?.error_code ?? b?.error?.status?.error_code
  return typeof code === 'number' ? code : undefined
}

/**
 * CoinGecko (crypto): `/api/v3/coins/{id}/market_chart/range` gives price points (5-minutely
 * within a day, hourly up to 90 days, daily beyond, at 00:00 UTC), which become bars of UTC days
 * and hours: crypto trades round the clock and CoinGecko's days are UTC days.
 * `/api/v3/simple/price` gives the latest prices of up to 50 ids per call. Volume is CoinGecko's
 * rolling 24 h volume at the bar's last point; there is no VWAP.
 */
export function coingeckoProvider(http: HttpClient, options: ProviderOptions = {}): PriceProvider {
  const now = options.now ?? (() => new Date())
  const idOf = (asset: Asset): string => {
    if (!asset.coingeckoId) throw new Error(`no coingecko_id for ${asset.symbol} in assets`)
    return asset.coingeckoId
  }

  /**
   * The chart of [from, to]; a key that may not reach so far back (Demo: the past 365 days, 401
   * error_code 10012) gets the part it may, and the run a warning saying so.
   */
  async function chart(asset: Asset, from: Date, to: Date): Promise<{ prices: Array<[number, number]>; volumes: Array<[number, number]> }> {
    try {
      return await chartOf(asset, from, to)
    } catch (error) {
      if (!isHttpError(error) || coingeckoErrorCode(error.body) !== HISTORY_LIMITED) throw error
      // a day's margin inside the 365, against the two clocks disagreeing
      const earliest = new Date(DateTime.fromJSDate(now(), { zone: 'UTC' }).minus({ days: DEMO_HISTORY_DAYS - 1 }).startOf('day').toMillis())
      if (to.getTime() <= earliest.getTime()) throw error
      options.warn?.(
        asset.symbol,
        `CoinGecko's key reaches back ${DEMO_HISTORY_DAYS} days only (error_code ${HISTORY_LIMITED}): bars from ${earliest.toISOString().slice(0, 10)}, not ${from.toISOString().slice(0, 10)}`,
      )
      return await chartOf(asset, earliest, to)
    }
  }

  async function chartOf(asset: Asset, from: Date, to: Date): Promise<{ prices: Array<[number, number]>; volumes: Array<[number, number]> }> {
    const body = await http.getJson<Record<string, unknown>>(`/api/v3/coins/${encodeURIComponent(idOf(asset))}/market_chart/range`, {
      vs_currency: 'usd',
      from: Math.floor(from.getTime() / 1000),
      to: Math.floor(to.getTime() / 1000),
    })
    if (typeof body !== 'object' || body === null || !Array.isArray(body.prices)) {
      throw new Error(`coingecko: unexpected answer for ${asset.coingeckoId}: ${JSON.stringify(body).slice(0, 120)}`)
    }
    return { prices: pairs(body.prices), volumes: Array.isArray(body.total_volumes) ? pairs(body.total_volumes) : [] }
  }

  const utcStart = (date: IsoDate) => Date.parse(`${date}T00:00:00Z`)
  const until = (end: number) => new Date(Math.min(end, now().getTime()))

  return {
    name: 'coingecko',
    async dailyBars(asset, from, to) {
      // always more than 90 days, so CoinGecko answers daily points whatever the range: a 7D, a 1Y
      // and a MAX run then build every bar they share from the same points
      const end = utcStart(addDays(to, 1)) - 1000
      const start = Math.min(utcStart(from), end - DAILY_SPAN_MS)
      const { prices, volumes } = await chart(asset, new Date(start), until(end))
      return dailyFromPoints(prices, volumes).filter((b) => {
        const day = utcDate(b.t)
        return day >= from && day <= to
      })
    },
    async hourlyBars(asset, date) {
      // one UTC day: 5-minutely points, so each hour has a real open, high, low and close
      const { prices, volumes } = await chart(asset, new Date(utcStart(date)), until(utcStart(addDays(date, 1)) - 1000))
      return bucket(prices, volumes, (t) => t - (t % HOUR_MS))
    },
    async latest(assets) {
      const out = new Map<string, Quote | Error>()
      const priced = assets.filter((a) => {
        if (a.coingeckoId) return true
        out.set(a.symbol, new Error(`no coingecko_id for ${a.symbol} in assets`))
        return false
      })
      for (let i = 0; i < priced.length; i += COINGECKO_IDS_PER_CALL) {
        const chunk = priced.slice(i, i + COINGECKO_IDS_PER_CALL)
        try {
          const body = await http.getJson<Record<string, Record<string, unknown>>>('/api/v3/simple/price', {
            ids: chunk.map((a) => a.coingeckoId).join(','),
            vs_currencies: 'usd',
            include_24hr_vol: 'true',
            include_24hr_change: 'true',
            include_last_updated_at: 'true',
          })
          for (const asset of chunk) {
            const entry = body?.[asset.coingeckoId!]
            const price = entry?.usd
            if (typeof price !== 'number') {
              // CoinGecko leaves unknown ids out of the answer instead of failing
              out.set(asset.symbol, new Error(`coingecko has no price for id '${asset.coingeckoId}'`))
              continue
            }
            const updated = typeof entry!.last_updated_at === 'number' ? entry!.last_updated_at * 1000 : Date.now()
            out.set(asset.symbol, {
              price,
              changePercent: typeof entry!.usd_24h_change === 'number' ? entry!.usd_24h_change : null,
              volume: typeof entry!.usd_24h_vol === 'number' ? entry!.usd_24h_vol : null,
              asOf: updated,
            })
          }
        } catch (error) {
          for (const asset of chunk) out.set(asset.symbol, error as Error)
        }
      }
      return out
    },
    close: () => http.close(),
  }
}

function pairs(value: unknown[]): Array<[number, number]> {
  return value.filter(
    (p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number' && Number.isFinite(p[1]),
  )
}

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Past 90 days CoinGecko's market_chart/range gives one point a day, at 00:00 UTC. */
const DAILY_SPAN_MS = 92 * DAY_MS

const utcDate = (t: number): IsoDate => new Date(t).toISOString().slice(0, 10)

/**
 * Daily points → one bar per UTC day. CoinGecko's point at 00:00 UTC of day D is its price for
 * D, so the bar of D is that point (open = high = low = close: one price a day is all the daily
 * granularity has); the extra "now" point that ends an answer, later in today, is left out, or
 * today's bar would change with the hour a run happens to ask.
 */
export function dailyFromPoints(prices: Array<[number, number]>, volumes: Array<[number, number]>): Bar[] {
  const first = new Map<number, [number, number]>()
  for (const point of [...prices].sort((a, b) => a[0] - b[0])) {
    const day = point[0] - (((point[0] % DAY_MS) + DAY_MS) % DAY_MS)
    if (!first.has(day)) first.set(day, point)
  }
  const volumeAt = new Map(volumes.map(([t, v]) => [t, v]))
  return [...first.entries()].map(([day, [t, price]]) => ({
    t: day,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: volumeAt.get(t) ?? null,
    vwap: null,
    trades: null,
  }))
}

/** Price points → OHLC bars per bucket (a UTC hour), in time order. */
export function bucket(prices: Array<[number, number]>, volumes: Array<[number, number]>, startOf: (t: number) => number): Bar[] {
  const volumeAt = new Map<number, number>()
  for (const [t, v] of volumes) volumeAt.set(startOf(t), v) // the bucket's last point wins
  const bars = new Map<number, { open: number; high: number; low: number; close: number }>()
  for (const [t, price] of [...prices].sort((a, b) => a[0] - b[0])) {
    const key = startOf(t)
    const bar = bars.get(key)
    if (!bar) bars.set(key, { open: price, high: price, low: price, close: price })
    else {
      bar.high = Math.max(bar.high, price)
      bar.low = Math.min(bar.low, price)
      bar.close = price
    }
  }
  return [...bars.entries()].map(([t, b]) => ({ t, ...b, volume: volumeAt.get(t) ?? null, vwap: null, trades: null }))
}
