import type { HttpClient, HttpError, HttpLimits } from '../io/http.js'
import type { AssetClass, PriceProvider } from '../kinds/prices/types.js'

/**
 * What a market-data provider declares: one file in src/providers/ exports one of these, and
 * src/providers/index.ts registers it. Config, redaction, the crontab, the k8s manifests, the
 * `limits` of a prices job file and the prices sources read it from the registry.
 *
 * The file must stay light (no undici, no pg): config.ts reads the registry on every command.
 * The HTTP client comes from the run (`run.http`), created by src/kinds/prices/sources.ts.
 *
 * @example
 * export const acme = defineProvider({
 *   name: 'acme',
 *   description: 'ACME quotes (stocks)',
 *   assetClasses: ['stock'],
 *   settings: { apiKey: { variable: 'ACME_API_KEY', secret: true }, baseUrl: { variable: 'ACME_BASE_URL', default: 'https://api.acme.test' } },
 *   http: true,
 *   open: (run) => acmeProvider(run.http({ baseUrl: run.settings.baseUrl!, headers: { authorization: `Bearer ${run.settings.apiKey}` } })),
 * })
 */
export interface ProviderDefinition<S extends string = string> {
  /** The name in the source's `assets.provider`, in `price_bars_*.source` and in a job file's `limits`. */
  readonly name: string
  /** One line, for docs and errors. */
  readonly description: string
  /** The asset classes it prices. */
  readonly assetClasses: readonly AssetClass[]
  /**
   * A symbol that is not in the assets list: the asset class this provider takes it as, or
   * undefined when it does not take it. The first registered provider that takes it serves it.
   */
  readonly unlisted?: (symbol: string) => AssetClass | undefined
  /** The environment variables it reads, by setting name; config.ts reads them. */
  readonly settings: { readonly [K in S]: ProviderSetting }
  /** Request pacing per plan, the plan named by one of its settings (POLYGON_PLAN). */
  readonly plans?: ProviderPlans<NoInfer<S>>
  /** Over HTTP: a prices job file may give it `limits: { <name>: { minIntervalMs, … } }`. */
  readonly http: boolean
  /** Its bars are of UTC days (CoinGecko's crypto days), not New York market days. */
  readonly utcDays?: boolean
  /** The client of one run; opened on first use, closed with the run's others. */
  open(run: ProviderRun<S>): PriceProvider
}

export interface ProviderSetting {
  /** The environment variable, such as POLYGON_API_KEY. */
  readonly variable: string
  /** Masked in every log and error (src/redact.ts), a key of the k8s Secret and of the crontab's secrets. */
  readonly secret?: boolean
  /** The value when the variable is unset or blank. */
  readonly default?: string
  /** A value's problem, said after the variable's name ("must be an https:// URL"); undefined when fine. A problem is exit 3. */
  readonly check?: (value: string) => string | undefined
}

export interface ProviderPlans<S extends string = string> {
  /** The setting that names the plan. */
  readonly setting: S
  /** The plan without one: the free plan, which no key exceeds. */
  readonly default: string
  /** Each plan's pacing, under its published limit even when every request is retried. */
  readonly presets: Readonly<Record<string, Partial<HttpLimits>>>
}

/** What a provider's `open` gets from the run. */
export interface ProviderRun<S extends string = string> {
  /** Its settings as config.ts read them (the default when unset; undefined without one). */
  readonly settings: { readonly [K in S]: string | undefined }
  /** The plan's name, checked and lower-cased; undefined for a provider without plans. */
  readonly plan: string | undefined
  readonly now: () => Date
  /** A symbol done with less than asked (history cut by the plan): a warning, not a failure. */
  readonly warn?: (symbol: string, warning: string) => void
  /** An HTTP client named after the provider, paced by its plan's preset under the job file's `limits.<name>`. */
  http(options: ProviderHttp): HttpClient
}

export interface ProviderHttp {
  readonly baseUrl: string
  /** API keys go here, never into a URL. */
  readonly headers?: Record<string, string>
  /** Other hosts of the same API a `next_url` may name. */
  readonly knownHosts?: readonly string[]
}

/** Types a provider's settings from its declaration. */
export function defineProvider<S extends string = never>(definition: ProviderDefinition<S>): ProviderDefinition<S> {
  return Object.freeze(definition)
}

/**
 * An HttpError of src/io/http.ts, told by its name: importing the class would load undici with
 * the registry, on every command.
 */
export function isHttpError(error: unknown): error is HttpError {
  return error instanceof Error && error.name === 'HttpError' && 'attempts' in error
}

/** A provider whose every call fails with `reason`, naming what to set (Polygon without a key answers nothing). */
export function refusing(provider: PriceProvider, reason: string): PriceProvider {
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
export function hinting(provider: PriceProvider, hint: string): PriceProvider {
  const unreachable = (error: unknown) => isHttpError(error) && error.status === undefined
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
