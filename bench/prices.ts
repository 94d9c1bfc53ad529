/**
 * Bench `prices_throughput`: 200 symbols of daily bars through the real `prices` kind and runner,
 * against the local fake Polygon with 50 ms latency and 10 % transient faults (500s and 429s).
 * Reports the request rate sustained against the configured limit (goal ≥ 0.9) and the symbols
 * lost (goal 0). Prints one JSON line.
 *
 *   node --import tsx bench/prices.ts            # the design's limit: 200 ms between requests
 *   BENCH_PRICES_INTERVAL_MS=50 node --import tsx bench/prices.ts
 */
import { pathToFileURL } from 'node:url'
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

export async function pricesThroughput(options: PricesBenchOptions = {}): Promise<Record<string, unknown>> {
  const { symbols = 200, latencyMs = 50, faultRate = 0.1, minIntervalMs = 200, concurrency = 4 } = options
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
    const sustained = (starts.length - 1) / ((starts.at(-1)! - starts[0]!) / 1000)
    const limit = 1000 / minIntervalMs
    const [written] = await warehouse.db.selectFrom('price_bars_daily').select((eb) => eb.fn.count<number>('symbol').distinct().as('n')).execute()
    const result = {
      bench: 'prices_throughput',
      symbols,
      latencyMs,
      faultRate,
      status: outcome.status,
      requests: starts.length,
      retries: starts.length - symbols,
      seconds: Number(seconds.toFixed(2)),
      limitPerSecond: limit,
      sustainedPerSecond: Number(sustained.toFixed(2)),
      ratio: Number((sustained / limit).toFixed(3)),
      symbolsWritten: Number(written!.n),
      symbolsLost: symbols - Number(written!.n),
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return result
  } finally {
    await source.close()
    await warehouse.close()
    await fake.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const interval = process.env.BENCH_PRICES_INTERVAL_MS ? Number(process.env.BENCH_PRICES_INTERVAL_MS) : undefined
  await pricesThroughput({ minIntervalMs: interval })
}
