import { coingecko } from './coingecko.js'
import { mock } from './mock.js'
import { polygon } from './polygon.js'
import type { ProviderDefinition, ProviderSetting } from './provider.js'

export type { ProviderDefinition, ProviderSetting } from './provider.js'

const REGISTRY = new Map<string, ProviderDefinition>()

/**
 * Adds a provider to the registry; returns what takes it out again. A second provider of the
 * same name, or one declaring a variable another already reads, is a programming error.
 */
export function registerProvider<S extends string>(definition: ProviderDefinition<S>): () => void {
  const provider = definition as unknown as ProviderDefinition
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(provider.name)) throw new Error(`provider name '${provider.name}' must be a lower-case identifier`)
  if (REGISTRY.has(provider.name)) throw new Error(`provider '${provider.name}' is registered already`)
  const taken = new Set(providerVariables().map((v) => v.variable))
  for (const setting of Object.values<ProviderSetting>(provider.settings)) {
    if (taken.has(setting.variable)) throw new Error(`provider '${provider.name}': ${setting.variable} is read by another provider already`)
  }
  if (provider.plans && !(provider.plans.default in provider.plans.presets)) throw new Error(`provider '${provider.name}': its default plan is not one of its plans`)
  REGISTRY.set(provider.name, provider)
  return () => void (REGISTRY.get(provider.name) === provider && REGISTRY.delete(provider.name))
}

// The providers, one line each: adding a provider is its file in src/providers/ and a line here.
registerProvider(polygon)
registerProvider(coingecko)
registerProvider(mock)

/** Every registered provider, in registration order. */
export function providers(): readonly ProviderDefinition[] {
  return [...REGISTRY.values()]
}

export function providerNamed(name: string): ProviderDefinition | undefined {
  return REGISTRY.get(name)
}

/** The providers' names, for errors: "polygon coingecko mock". */
export function providerNames(filter: (provider: ProviderDefinition) => boolean = () => true): string {
  return providers().filter(filter).map((p) => p.name).join(' ')
}

/** Every variable the providers read, with the provider and setting that reads it. */
export function providerVariables(): Array<ProviderSetting & { provider: string; setting: string }> {
  return providers().flatMap((p) => Object.entries<ProviderSetting>(p.settings).map(([setting, s]) => ({ ...s, provider: p.name, setting })))
}

/** The variables holding the providers' secrets (POLYGON_API_KEY, …): redacted, and keys of the k8s Secret. */
export function providerSecretVariables(): string[] {
  return providerVariables().filter((v) => v.secret).map((v) => v.variable)
}

/** The name of the provider that serves USE_MOCK_DATA=1. */
export const MOCK_PROVIDER = mock.name
