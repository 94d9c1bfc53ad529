import { EtlError } from '../errors.js'
import type { HttpLimits } from '../io/http.js'
import type { ProviderName } from '../kinds/prices/types.js'

/**
 * Request pacing per provider plan (POLYGON_PLAN, COINGECKO_PLAN). Each preset stays under its
 * plan's published limit even when every request is retried: the gate spaces retries too.
 *
 * Polygon: Basic (free) allows 5 requests a minute; the paid plans have no per-minute cap, so
 * they keep the design's 5 a second. CoinGecko: Demo 30 calls a minute, Analyst and Lite 500,
 * Pro 1000.
 */
export const PLANS = {
  polygon: {
    free: { minIntervalMs: 12_000, concurrency: 1 },
    starter: { minIntervalMs: 200, concurrency: 4 },
    developer: { minIntervalMs: 200, concurrency: 4 },
    advanced: { minIntervalMs: 200, concurrency: 4 },
  },
  coingecko: {
    demo: { minIntervalMs: 2_000, concurrency: 1 },
    analyst: { minIntervalMs: 120, concurrency: 4 },
    lite: { minIntervalMs: 120, concurrency: 4 },
    pro: { minIntervalMs: 60, concurrency: 4 },
  },
} as const satisfies Record<ProviderName, Record<string, Partial<HttpLimits>>>

/** Without POLYGON_PLAN / COINGECKO_PLAN: the free plans, which no key can exceed. */
export const DEFAULT_PLANS = { polygon: 'free', coingecko: 'demo' } as const satisfies Record<ProviderName, string>

const VARIABLE: Record<ProviderName, string> = { polygon: 'POLYGON_PLAN', coingecko: 'COINGECKO_PLAN' }

/** The limits of a plan name (case-insensitive); an unknown one is BAD_INPUT (exit 2). */
export function planLimits(provider: ProviderName, plan: string | undefined): Partial<HttpLimits> {
  const presets: Record<string, Partial<HttpLimits>> = PLANS[provider]
  const name = (plan ?? DEFAULT_PLANS[provider]).trim().toLowerCase()
  const limits = presets[name]
  if (!limits) throw new EtlError('BAD_INPUT', `${VARIABLE[provider]} '${plan}' is not one of ${Object.keys(presets).join(' ')}`)
  return limits
}

/** Years of history each Polygon plan serves (Basic 2, Starter 5, Developer 10, Advanced 20+). */
export const POLYGON_HISTORY_YEARS: Record<keyof (typeof PLANS)['polygon'], number> = { free: 2, starter: 5, developer: 10, advanced: 20 }

/** The plan's name as planLimits reads it. */
export function planName(provider: ProviderName, plan: string | undefined): string {
  planLimits(provider, plan)
  return (plan ?? DEFAULT_PLANS[provider]).trim().toLowerCase()
}
