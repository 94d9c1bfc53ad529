/**
 * Bench `prices_throughput`: 100 symbols of daily bars through the real `prices` kind and runner,
 * against the local fake Polygon with 50 ms latency and 10 % transient faults (500s and 429s).
 * Reports the request rate sustained against the configured limit (goal ≥ 0.9) and the symbols
 * lost (goal 0), over three runs. Prints one JSON line.
 *
 *   node --import tsx bench/prices.ts            # the design's limit: 200 ms between requests
 *   BENCH_PRICES_INTERVAL_MS=50 node --import tsx bench/prices.ts
 */
import { pathToFileURL } from 'node:url'
import { REPEAT, repeat, result, type BenchResult } from './support.js'
import { loadConfig } from '../src/config.js'
import { migrateUp } from '../src/db/migrate.js'
import { openPglite } from '../src/db/pglite.js'
import { validateJob } from '../src/engine/registry.js'
import { newInvocationId, runJob } from '../src/engine/runner.js'
import { silentLogger } from '../src/log.js'
import historical from '../jobs/prices/ingest_prices_historical.js'
import { startFakeProviders } from '../test/helpers/fake-providers.js'

export interface PricesBenchOptions {
  symbols?: number
  latencyMs?: number
  faultRate?: number
  minIntervalMs?: number
  concurrency?: number
}

/** One run: its wall time, the seconds its requests would take at exactly the limit, and the symbols lost. */
async function pricesRun(options: PricesBenchOptions = {}) {
  const { symbols = 100, latencyMs = 50, faultRate = 0.1, minIntervalMs = 200, concurrency = 4 } = options
  const fake = await startFakeProviders({ latencyMs, faultRate, seed: 11 })
  const warehouse = await openPglite({ role: 'warehouse' })
  const source = await openPglite({ role: 'oltp' })
  try {
    await migrateUp(warehouse, 'public')
    const config = loadConfig({ POLYGON_BASE_URL: fake.url, POLYGON_API_KEY: 'bench-key' })
    const job = validateJob(
      { ...historical, limits: { polygon: { minIntervalMs, concurrency, backoffMs: 250, retries: 4 } } },
      'jobs/prices/ingest_prices_historical.ts',
    )
    const names = Array.from({ length: symbols }, (_, i) => `S${String(i).padStart(3, '0')}`)
    const now = new Date('2025-01-15T21:30:00Z')
    const t0 = performance.now()
    const outcome = await runJob(
      { config, log: silentLogger, warehouse, source: async () => source, invocationId: newInvocationId(), now: () => now },
      { job, parameters: { range: '1M', symbols: names } },
    )
    const seconds = (performance.now() - t0) / 1000
    const starts = fake.requests.map((r) => r.at).sort((a, b) => a - b)
    const [written] = await warehouse.db.selectFrom('price_bars_daily').select((eb) => eb.fn.count<number>('symbol').distinct().as('n')).execute()
    return {
      status: outcome.status,
      seconds,
      requests: starts.length,
      // the first to the last request at the measured pace, and at exactly the limit
      spanS: (starts.at(-1)! - starts[0]!) / 1000,
      atLimitS: ((starts.length - 1) * minIntervalMs) / 1000,
      lost: symbols - Number(written!.n),
    }
  } finally {
    await source.close()
    await warehouse.close()
    await fake.close()
  }
}

export async function pricesThroughput(options: PricesBenchOptions = {}): Promise<BenchResult> {
  const { symbols = 100, latencyMs = 50, faultRate = 0.1, minIntervalMs = 200, concurrency = 4 } = options
  const runs = await repeat(REPEAT, () => pricesRun({ symbols, latencyMs, faultRate, minIntervalMs, concurrency }))
  const lost = Math.max(...runs.map((r) => r.lost))
  return result({
    scenario: 'prices_throughput',
    ours: runs.map((r) => r.spanS),
    baseline: runs.map((r) => r.atLimitS),
    // requests/s sustained over the limit's: higher is better
    ratios: runs.map((r) => r.atLimitS / r.spanS),
    rows: symbols,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    goal: { min: 0.9 },
    goalText: '≥ 0.9, 0 symbols lost',
    alsoMet: lost === 0 && runs.every((r) => r.status === 'SUCCESS'),
    note:
      `ratio: requests/s sustained over the limit (${1000 / minIntervalMs}/s), ${latencyMs} ms latency, ${faultRate * 100} % faults, concurrency ${concurrency}; ` +
      `${runs.map((r) => r.requests - symbols).join('/')} retries, ${lost} symbols lost at most, runs ${runs.map((r) => r.status).join('/')}; the times are the requests' span and the span at the limit`,
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const interval = process.env.BENCH_PRICES_INTERVAL_MS ? Number(process.env.BENCH_PRICES_INTERVAL_MS) : undefined
  process.stdout.write(`${JSON.stringify(await pricesThroughput({ minIntervalMs: interval }))}\n`)
}
