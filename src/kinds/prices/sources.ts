import type { LookupFunction } from 'node:net'
import type { Config } from '../../config.js'
import { EtlError } from '../../errors.js'
import { createHttpClient, type Clock, type HttpClient, type HttpLimits } from '../../io/http.js'
import type { Logger } from '../../log.js'
import { MOCK_PROVIDER, providerNamed, providerNames } from '../../providers/index.js'
import { checkPlans, planLimits, planName } from '../../providers/plans.js'
import type { Asset, PriceProvider } from './types.js'

/** Per-provider HTTP limits, from the job file (`limits: { polygon: { minIntervalMs: 250 } }`). */
export type ProviderLimits = Partial<Record<string, Partial<HttpLimits>>>

/**
 * The providers of one run, opened on first use and closed together: each asset's provider from
 * the registry (src/providers/index.ts), each over HTTP with its own rate limit, or the mock for
 * every asset with USE_MOCK_DATA.
 */
export interface PriceSources {
  providerFor(asset: Asset): PriceProvider
  /** The HTTP clients opened so far, for their request counts. */
  readonly clients: readonly HttpClient[]
  close(): Promise<void>
}

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
  // an unknown plan fails the run at once, not each symbol on its own
  if (!config.useMockData) checkPlans(config.providerSettings)
  const opened = new Map<string, PriceProvider>()
  const clients: HttpClient[] = []

  function open(name: string): PriceProvider {
    let provider = opened.get(name)
    if (provider) return provider
    const definition = providerNamed(name)
    if (!definition) throw new EtlError('BAD_INPUT', `provider '${name}' is not one of ${providerNames()}`)
    const settings = config.providerSettings[name] ?? {}
    const plan = definition.plans ? planName(name, settings[definition.plans.setting]) : undefined
    provider = definition.open({
      settings,
      plan,
      now: options.now,
      warn: options.warn,
      http: (http) => {
        const client = createHttpClient({
          name,
          ...http,
          // the job file's limits win over the plan's preset
          limits: { ...planLimits(name, plan), ...options.limits?.[name] },
          clock: options.clock,
          log: options.log,
          lookup: options.lookup,
        })
        clients.push(client)
        return client
      },
    })
    opened.set(name, provider)
    return provider
  }

  return {
    providerFor: (asset) => open(config.useMockData ? MOCK_PROVIDER : asset.provider),
    clients,
    async close() {
      for (const provider of [...opened.values()].reverse()) await provider.close().catch(() => {})
      opened.clear()
    },
  }
}
