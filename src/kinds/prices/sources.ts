import type { LookupFunction } from 'node:net'
import type { Config } from '../../config.js'
import { createHttpClient, HttpError, type Clock, type HttpClient, type HttpLimits } from '../../io/http.js'
import type { Logger } from '../../log.js'
import { coingeckoProvider } from '../../providers/coingecko.js'
import { mockProvider } from '../../providers/mock.js'
import { planLimits, planName, POLYGON_HISTORY_YEARS } from '../../providers/plans.js'
import { polygonProvider } from '../../providers/polygon.js'
import type { Asset, PriceProvider, ProviderName } from './types.js'

/** Per-provider HTTP limits, from the job file (`limits: { polygon: { minIntervalMs: 250 } }`). */
export type ProviderLimits = Partial<Record<ProviderName, Partial<HttpLimits>>>

/**
 * The providers of one run, opened on first use and closed together: Polygon and CoinGecko
 * over HTTP (each with its own rate limit), or the mock for every asset with USE_MOCK_DATA.
 */
export interface PriceSources {
  providerFor(asset: Asset): PriceProvider
  /** The HTTP clients opened so far, for their request counts. */
  readonly clients: readonly HttpClient[]
  close(): Promise<void>
}

/** Polygon's hosts, old and new (Polygon.io is Massive since 2025): `next_url` may name either. */
export const POLYGON_HOSTS = ['api.polygon.io', 'api.massive.com']

export interface PriceSourceOptions {
  limits?: ProviderLimits
  log?: Logger
  now: () => Date
  /** DNS for the providers' sockets; tests only. */
  lookup?: LookupFunction
  /** Time for the HTTP clients' pacing and waits; tests only. */
  clock?: Clock
  /** A symbol done with less than asked (history cut by the plan). */
  warn?: (symbol: string, warning: string) => void
}

export function openPriceSources(config: Config, options: PriceSourceOptions): PriceSources {
  if (!config.useMockData) {
    // an unknown plan fails the run at once, not each symbol on its own
    planLimits('polygon', config.polygon.plan)
    planLimits('coingecko', config.coingecko.plan)
  }
  const opened = new Map<string, PriceProvider>()
  const clients: HttpClient[] = []

  function open(name: ProviderName | 'mock'): PriceProvider {
    let provider = opened.get(name)
    if (provider) return provider
    if (name === 'mock') provider = mockProvider({ now: options.now })
    else if (name === 'polygon') {
      const { apiKey, baseUrl } = config.polygon
      const http = createHttpClient({
        name,
        baseUrl,
        // Polygon takes the key as a bearer token; the query-string form would put it in URLs
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        knownHosts: POLYGON_HOSTS,
        // the job file's limits win over the plan's preset
        limits: { ...planLimits('polygon', config.polygon.plan), ...options.limits?.polygon },
        clock: options.clock,
        log: options.log,
        lookup: options.lookup,
      })
      clients.push(http)
      const plan = planName('polygon', config.polygon.plan) as keyof typeof POLYGON_HISTORY_YEARS
      provider = polygonProvider(http, { now: options.now, warn: options.warn, plan, historyYears: POLYGON_HISTORY_YEARS[plan] })
      // Polygon answers nothing without a key: say what to do instead of asking
      if (!apiKey) provider = refusing(provider, 'no POLYGON_API_KEY: set POLYGON_API_KEY, or USE_MOCK_DATA=1 for the built-in provider')
    } else {
      const { apiKey, baseUrl } = config.coingecko
      const header = /pro-api\./.test(baseUrl) ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key'
      const http = createHttpClient({
        name,
        baseUrl,
        headers: apiKey ? { [header]: apiKey } : {},
        limits: { ...planLimits('coingecko', config.coingecko.plan), ...options.limits?.coingecko },
        log: options.log,
        clock: options.clock,
      })
      clients.push(http)
      provider = coingeckoProvider(http, { now: options.now, warn: options.warn })
      // CoinGecko answers without a key too, but when it cannot be reached the user needs the way out
      if (!apiKey) provider = hinting(provider, 'no COINGECKO_API_KEY: set COINGECKO_API_KEY, or USE_MOCK_DATA=1 for the built-in provider')
    }
    opened.set(name, provider)
    return provider
  }

  return {
    providerFor: (asset) => open(config.useMockData ? 'mock' : asset.provider),
    clients,
    async close() {
      for (const provider of [...opened.values()].reverse()) await provider.close().catch(() => {})
      opened.clear()
    },
  }
}

/** A provider whose every call fails with `reason`, naming what to set. */
function refusing(provider: PriceProvider, reason: string): PriceProvider {
  const fail = async (): Promise<never> => {
    throw new Error(reason)
  }
  return {
    name: provider.name,
    dailyBars: fail,
    hourlyBars: fail,
    latest: async (assets) => new Map(assets.map((a) => [a.symbol, new Error(reason)])),
    close: () => provider.close(),
  }
}

/** A provider whose failures without an answer (no network) end with `hint`. */
function hinting(provider: PriceProvider, hint: string): PriceProvider {
  const unreachable = (error: unknown) => error instanceof HttpError && error.status === undefined
  const wrap = (error: unknown): Error => (unreachable(error) ? new Error(`${(error as Error).message}; ${hint}`, { cause: error }) : (error as Error))
  return {
    name: provider.name,
    dailyBars: (...args) => provider.dailyBars(...args).catch((e: unknown) => Promise.reject(wrap(e))),
    hourlyBars: (...args) => provider.hourlyBars(...args).catch((e: unknown) => Promise.reject(wrap(e))),
    async latest(assets) {
      const quotes = await provider.latest(assets)
      return new Map([...quotes].map(([symbol, q]) => [symbol, q instanceof Error ? wrap(q) : q]))
    },
    close: () => provider.close(),
  }
}
