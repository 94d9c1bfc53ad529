import type { IsoDate } from '../../time/calendar.js'

export const ASSET_CLASSES = ['stock', 'etf', 'index', 'crypto'] as const
export type AssetClass = (typeof ASSET_CLASSES)[number]

/** One row of the source's `assets` list. */
export interface Asset {
  readonly symbol: string
  readonly assetClass: AssetClass
  /** A registered provider's name (src/providers/index.ts): 'polygon', 'coingecko'. */
  readonly provider: string
  /** CoinGecko's id ('bitcoin') for crypto; null otherwise. */
  readonly coingeckoId: string | null
}

/** An OHLC bar; `t` is the start of its period in Unix milliseconds, as Polygon sends it. */
export interface Bar {
  readonly t: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number | null
  readonly vwap: number | null
  readonly trades: number | null
}

/** The most recent price of an asset. */
export interface Quote {
  readonly price: number
  /** Percent change over the provider's reference period (the day, or 24 h for crypto). */
  readonly changePercent: number | null
  readonly volume: number | null
  /** When the price was observed, Unix milliseconds. */
  readonly asOf: number
}

/**
 * Where bars and quotes come from. Each call covers one asset (latest: several, when the API
 * takes a list) and throws for that asset alone; the caller turns throws into failed units.
 */
export interface PriceProvider {
  readonly name: string
  /** Daily bars whose New York date lies in `[from, to]` (both included). */
  dailyBars(asset: Asset, from: IsoDate, to: IsoDate): Promise<Bar[]>
  /** Hourly bars of one New York day. */
  hourlyBars(asset: Asset, date: IsoDate): Promise<Bar[]>
  /** Latest quotes; an asset the provider could not price maps to an Error. */
  latest(assets: readonly Asset[]): Promise<Map<string, Quote | Error>>
  close(): Promise<void>
}

/** What a provider gets from its run: the clock, and where to say that a unit got less than asked. */
export interface ProviderOptions {
  now?: () => Date
  /** A symbol done, but not wholly (history cut by the plan): recorded as a warning, not a failure. */
  warn?: (symbol: string, warning: string) => void
}
