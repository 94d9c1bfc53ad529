import { DateTime } from 'luxon'
import { addDays, type IsoDate } from '../time/calendar.js'
import { isTradingDay, lastMarketDay, marketDate, MARKET_ZONE, previousTradingDay, sessionOf } from '../time/market.js'
import type { Asset, Bar, PriceProvider, Quote } from '../kinds/prices/types.js'
import { defineProvider } from './provider.js'

/** USE_MOCK_DATA=1 serves every asset from the mock, whatever its `assets.provider`. */
export const mock = defineProvider({
  name: 'mock',
  description: 'a built-in deterministic random walk (USE_MOCK_DATA=1), no key',
  assetClasses: ['stock', 'etf', 'index', 'crypto'],
  settings: {},
  http: false,
  open: (run) => mockProvider({ now: run.now }),
})

/** The mock's history starts here; a MAX range gets bars from this day. */
export const MOCK_EPOCH: IsoDate = '2000-01-03'

const SIGMA = { stock: 0.016, etf: 0.011, index: 0.01, crypto: 0.035 } as const

/**
 * A deterministic price provider (USE_MOCK_DATA=1): a seeded geometric random walk per symbol,
 * so the demo and a newcomer get plausible prices with no API key, and every run — on any
 * machine, for any range asked — sees the same bar for the same (symbol, day). Nothing in the
 * future: bars stop at `now`. Stocks trade on market days, 09:30–16:00; crypto every day.
 */
export function mockProvider(options: { seed?: number; now: () => Date }): PriceProvider {
  const seed = options.seed ?? 42
  const walks = new Map<string, number[]>()

  const uniform = (key: string): number => mulberry(fnv(`${seed}:${key}`))
  const gauss = (key: string): number => {
    const u = Math.max(uniform(`${key}:u`), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform(`${key}:v`))
  }
  const dayIndex = (date: IsoDate) => Math.round(DateTime.fromISO(date, { zone: 'UTC' }).diff(DateTime.fromISO(MOCK_EPOCH, { zone: 'UTC' }), 'days').days)

  /** Close of every calendar day since the epoch, extended on demand. */
  function closeOn(asset: Asset, index: number): number {
    let walk = walks.get(asset.symbol)
    if (!walk) {
      const base = asset.assetClass === 'crypto' ? 50 + uniform(`${asset.symbol}:base`) * 20_000 : 20 + uniform(`${asset.symbol}:base`) * 480
      walk = [base]
      walks.set(asset.symbol, walk)
    }
    const sigma = SIGMA[asset.assetClass]
    for (let i = walk.length; i <= index; i++) walk.push(walk[i - 1]! * Math.exp(0.0002 + sigma * gauss(`${asset.symbol}:d:${i}`)))
    return walk[index]!
  }

  function dayBar(asset: Asset, date: IsoDate): Bar {
    const i = dayIndex(date)
    const close = closeOn(asset, i)
    const open = (i > 0 ? closeOn(asset, i - 1) : close) * Math.exp(0.002 * gauss(`${asset.symbol}:o:${i}`))
    const high = Math.max(open, close) * (1 + 0.01 * uniform(`${asset.symbol}:h:${i}`))
    const low = Math.min(open, close) * (1 - 0.01 * uniform(`${asset.symbol}:l:${i}`))
    const volume = asset.assetClass === 'index' ? null : Math.round(1_000_000 * (0.5 + uniform(`${asset.symbol}:v:${i}`)))
    return {
      t: DateTime.fromISO(date, { zone: MARKET_ZONE }).toMillis(),
      open: round(open),
      high: round(high),
      low: round(low),
      close: round(close),
      volume,
      vwap: volume === null ? null : round((high + low + close) / 3),
      trades: volume === null ? null : Math.round(volume / 120),
    }
  }

  const trades = (asset: Asset, date: IsoDate) => asset.assetClass === 'crypto' || isTradingDay(date)

  /** Hour starts of a day: 09:00…15:00 New York for the exchange (Polygon's regular-session bars), 0…23 for crypto. */
  function hours(asset: Asset, date: IsoDate): number[] {
    const start = DateTime.fromISO(date, { zone: MARKET_ZONE })
    const list = asset.assetClass === 'crypto' ? Array.from({ length: 24 }, (_, h) => h) : [9, 10, 11, 12, 13, 14, 15]
    return list.map((hour) => start.set({ hour }).toMillis())
  }

  /** The day's path from open to close through each hour, a Brownian bridge so it ends at the close. */
  function path(asset: Asset, date: IsoDate): number[] {
    const bar = dayBar(asset, date)
    const n = hours(asset, date).length
    const points = [bar.open]
    for (let k = 1; k < n; k++) {
      const drift = bar.open + ((bar.close - bar.open) * k) / n
      points.push(drift * (1 + 0.003 * gauss(`${asset.symbol}:p:${date}:${k}`)))
    }
    points.push(bar.close)
    return points
  }

  function hourBars(asset: Asset, date: IsoDate): Bar[] {
    if (!trades(asset, date)) return []
    const p = path(asset, date)
    const day = dayBar(asset, date)
    const starts = hours(asset, date)
    return starts.map((t, k) => {
      const open = p[k]!
      const close = p[k + 1]!
      const volume = day.volume === null ? null : Math.round(day.volume / starts.length)
      return {
        t,
        open: round(open),
        high: round(Math.max(open, close) * 1.001),
        low: round(Math.min(open, close) * 0.999),
        close: round(close),
        volume,
        vwap: volume === null ? null : round((open + close) / 2),
        trades: volume === null ? null : Math.round(volume / 120),
      }
    })
  }

  return {
    name: 'mock',
    async dailyBars(asset, from, to) {
      const now = options.now()
      // today's bar only once the day is over (the exchange's close; crypto's New York midnight)
      const last = asset.assetClass === 'crypto' ? addDays(marketDate(now), -1) : lastCompleteMarketDay(now)
      const first = from < MOCK_EPOCH ? MOCK_EPOCH : from
      const bars: Bar[] = []
      for (let d = first; d <= to && d <= last; d = addDays(d, 1)) if (trades(asset, d)) bars.push(dayBar(asset, d))
      return bars
    },
    async hourlyBars(asset, date) {
      const now = options.now().getTime()
      return hourBars(asset, date).filter((b) => b.t + 3_600_000 <= now)
    },
    async latest(assets) {
      const now = options.now()
      const out = new Map<string, Quote | Error>()
      for (const asset of assets) {
        const date = asset.assetClass === 'crypto' ? marketDate(now) : lastMarketDay(now)
        const session = asset.assetClass === 'crypto' ? undefined : sessionOf(date)
        const p = path(asset, date)
        const starts = hours(asset, date)
        let price: number
        let asOf: number
        if (session && now >= session.close) {
          price = p.at(-1)!
          asOf = session.close.getTime()
        } else {
          // between two hourly points, linearly: the price moves every minute, deterministically
          const from = session ? session.open.getTime() : starts[0]!
          const span = session ? session.close.getTime() - from : 86_400_000
          const x = Math.min(Math.max((now.getTime() - from) / span, 0), 1) * (p.length - 1)
          const k = Math.min(Math.floor(x), p.length - 2)
          price = p[k]! + (p[k + 1]! - p[k]!) * (x - k)
          asOf = now.getTime()
        }
        const previous = closeOn(asset, dayIndex(date) - 1)
        const day = dayBar(asset, date)
        out.set(asset.symbol, { price: round(price), changePercent: round((price / previous - 1) * 100), volume: day.volume, asOf })
      }
      return out
    },
    async close() {},
  }
}

function lastCompleteMarketDay(now: Date): IsoDate {
  const day = lastMarketDay(now)
  const session = sessionOf(day)
  return session && now >= session.close ? day : day === marketDate(now) ? previousTradingDay(day) : day
}

const round = (n: number) => Math.round(n * 10_000) / 10_000

function fnv(text: string): number {
  let h = 2_166_136_261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619)
  return h >>> 0
}

/** One step of mulberry32: a well-mixed uniform in [0, 1) from a 32-bit state. */
function mulberry(state: number): number {
  let t = (state + 0x6d2b79f5) >>> 0
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}
