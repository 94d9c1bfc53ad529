import { z } from 'zod'
import { providerNamed, providerNames } from '../../providers/index.js'
import { warmPriceCache } from './cache.js'
import { RANGES } from './ranges.js'
import { defineKind } from '../kind.js'

const limits = z.strictObject({
  minIntervalMs: z.number().int().min(0).max(60_000).optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
  timeoutMs: z.number().int().min(1).max(300_000).optional(),
  retries: z.number().int().min(0).max(20).optional(),
  backoffMs: z.number().int().min(0).max(60_000).optional(),
  maxBackoffMs: z.number().int().min(0).max(600_000).optional(),
  maxRetryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
})

const overHttp = (p: { http: boolean }) => p.http

/** `limits: { polygon: {…}, coingecko: {…} }`: a key per registered provider over HTTP, read when a job file is validated. */
const providerLimits = z.record(z.string(), limits).superRefine((value, ctx) => {
  for (const name of Object.keys(value)) {
    const provider = providerNamed(name)
    if (!provider || !overHttp(provider)) ctx.addIssue({ code: 'custom', path: [name], message: `is not a provider with limits (${providerNames(overHttp)})` })
  }
})

/** The `etl prices` commands that run a job of the registry, with the command's range and symbols. */
export const PRICE_COMMANDS = ['historical', 'hourly', 'latest'] as const
export type PriceCommand = (typeof PRICE_COMMANDS)[number]

export const PricesSchema = z.looseObject({
  /** This job is the one `etl prices <command>` runs (one job per command). */
  command: z.enum(PRICE_COMMANDS).optional(),
  bars: z.enum(['daily', 'hourly', 'latest']).optional(),
  range: z.enum(RANGES).optional(),
  marketHoursOnly: z.boolean().optional(),
  afterCloseMinutes: z.number().int().min(0).max(720).optional(),
  extendedHours: z.boolean().optional(),
  symbols: z.array(z.string().min(1)).optional(),
  batchSize: z.number().int().min(1).max(1000).optional(),
  limits: providerLimits.optional(),
  retention: z.string().regex(/^\d+ (days|months|years)$/, "must be an interval such as '2 years' or '90 days'").optional(),
})

const PRICE_TABLES = { daily: 'price_bars_daily', hourly: 'price_bars_hourly', latest: 'latest_prices' } as const

/** Market prices from the registered providers (src/providers/: Polygon, CoinGecko, the mock): daily bars, hourly bars, latest prices. */
export const prices = defineKind({
  schema: PricesSchema,
  defaultPartition: 'none',
  inPipeline: false,
  // loaded when a price job runs: the HTTP client (undici) costs every other cron tick ~0.1 s to import
  execute: async (ctx) => (await import('./ingest.js')).ingestPrices(ctx),
  warmCache: warmPriceCache,
  targets: (job) => [PRICE_TABLES[(job.definition as z.infer<typeof PricesSchema>).bars ?? 'daily']],
})
