import { EtlError } from '../errors.js'
import type { HttpLimits } from '../io/http.js'
import { providerNamed, providers } from './index.js'

/**
 * Request pacing per provider plan (POLYGON_PLAN, COINGECKO_PLAN): each provider file declares
 * its plans (`plans.presets`) and the setting that names one; this reads them. Without a plan
 * the provider's default applies, its free plan, which no key exceeds.
 */

/** The limits of a plan name (case-insensitive); an unknown one is BAD_INPUT (exit 2). A provider without plans has none. */
export function planLimits(provider: string, plan: string | undefined): Partial<HttpLimits> {
  const definition = providerNamed(provider)
  if (!definition?.plans) return {}
  const { presets, setting } = definition.plans
  const limits = presets[planName(provider, plan)!]
  if (!limits) throw new EtlError('BAD_INPUT', `${definition.settings[setting]!.variable} '${plan}' is not one of ${Object.keys(presets).join(' ')}`)
  return limits
}

/** The plan's name as planLimits reads it (not checked); undefined for a provider without plans. */
export function planName(provider: string, plan: string | undefined): string | undefined {
  const plans = providerNamed(provider)?.plans
  return plans ? (plan ?? plans.default).trim().toLowerCase() : undefined
}

/** Every provider's plan as config read it, checked: a bad POLYGON_PLAN is the user's to fix (exit 2), before anything is asked. */
export function checkPlans(settings: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>): void {
  for (const provider of providers()) {
    if (provider.plans) planLimits(provider.name, settings[provider.name]?.[provider.plans.setting])
  }
}
