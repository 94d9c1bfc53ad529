import { DateTime } from 'luxon'
import { HttpError, type HttpClient } from '../io/http.js'
import { addDays, type IsoDate } from '../time/calendar.js'
import { MARKET_ZONE } from '../time/market.js'
import type { Asset, Bar, PriceProvider, ProviderOptions, Quote } from './types.js'

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
 * within a day, hourly up to 90 days, daily beyond), which become OHLC bars per New York day or
 * hour; `/api/v3/simple/price` gives the latest prices of up to 50 ids per call. Volume is
 * CoinGecko's rolling 24 h volume at the bar's last point; there is no VWAP.
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
      if (!(error instanceof HttpError) || coingeckoErrorCode(error.body) !== HISTORY_LIMITED) throw error
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

  const nyStart = (date: IsoDate) => DateTime.fromISO(date, { zone: MARKET_ZONE }).startOf('day')

  return {
    name: 'coingecko',
    async dailyBars(asset, from, to) {
      const { prices, volumes } = await chart(asset, nyStart(from).toJSDate(), new Date(nyStart(addDays(to, 1)).toMillis() - 1000))
      return bucket(prices, volumes, (t) => DateTime.fromMillis(t, { zone: MARKET_ZONE }).startOf('day').toMillis())
    },
    async hourlyBars(asset, date) {
      const { prices, volumes } = await chart(asset, nyStart(date).toJSDate(), new Date(nyStart(addDays(date, 1)).toMillis() - 1000))
      return bucket(prices, volumes, (t) => DateTime.fromMillis(t, { zone: MARKET_ZONE }).startOf('hour').toMillis())
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

/** Price points → OHLC bars per bucket (a New York day or hour), in time order. */
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
