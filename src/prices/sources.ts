import type { LookupFunction } from 'node:net'
import type { Config } from '../config.js'
import { createHttpClient, type Clock, type HttpClient, type HttpLimits } from '../io/http.js'
import type { Logger } from '../log.js'
import { coingeckoProvider } from './coingecko.js'
import { mockProvider } from './mock.js'
import { planLimits, planName, POLYGON_HISTORY_YEARS } from './plans.js'
import { polygonProvider } from './polygon.js'
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
