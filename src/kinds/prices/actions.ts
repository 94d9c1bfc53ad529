import type { Command } from 'commander'
import { cacheStats } from '../../cache/stats.js'
import { closeCache, openCache } from '../../cache/redis.js'
import { warmCache } from '../../cache/warm.js'
import { runJob } from '../../engine/runner.js'
import { checkPlans } from '../../providers/plans.js'
import { resolveAssets } from './assets.js'
import type { ShowRange } from './ranges.js'
import { readLatest, readPrices } from './read.js'
import { withContext } from '../../cli/context.js'
import { print, table } from '../../cli/options.js'
import { reportOutcomes } from '../../cli/outcomes.js'

/** `etl prices historical|hourly|latest`: the job from the registry, through the runner, with the command's range and symbols. */
export async function ingest(jobName: string, parameters: { range?: string; symbols?: string[] }, options: { force?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    // a bad POLYGON_PLAN / COINGECKO_PLAN is the user's to fix (exit 2), before anything is asked
    checkPlans(ctx.config.providerSettings)
    const job = (await ctx.registry()).get(jobName)
    const env = await ctx.runEnv()
    const params: Record<string, unknown> = {}
    if (parameters.range) params.range = parameters.range
    // as typed: Polygon tickers are case-sensitive (KIMpL); the assets list settles the spelling
    if (parameters.symbols?.length) params.symbols = parameters.symbols
    // so is an asset of a provider that is not registered: the run would only record it FAILED
    await resolveAssets(await env.source(), parameters.symbols?.length ? parameters.symbols : (job.definition as { symbols?: string[] }).symbols)
    const outcome = await runJob(env, { job, force: options.force, parameters: params })
    reportOutcomes([outcome], env.invocationId)
  })
}

/** `etl prices show SYMBOL [--range R] [--json]`: the read path, cache first for 1D. */
export async function show(symbol: string, options: { range: string; json?: boolean; regularSession?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const cache = await openCache(ctx.config, ctx.log)
    try {
      const deps = { cache, warehouse: () => ctx.connections.warehouse(), now: ctx.now(), log: ctx.log }
      const name = symbol.trim()
      const { source, bars } = await readPrices(name, options.range as ShowRange, deps, { regularSession: options.regularSession })
      if (options.json) {
        print(JSON.stringify(bars))
        return
      }
      const latest = await readLatest(name, deps)
      if (latest) {
        const change = latest.changePercent === null ? '' : ` (${latest.changePercent >= 0 ? '+' : ''}${latest.changePercent.toFixed(2)} %)`
        print(`${name} ${latest.price}${change} as of ${latest.asOf} (${latest.source}, from the ${latest.from})`)
      }
      if (bars.length === 0) {
        // the command that fetches what was asked: 1D is hourly bars, every other range daily ones
        print(
          options.range === '1D'
            ? `no hourly (1D) bars of ${name} in the warehouse; 'etl prices hourly ${name}' fetches them (in market hours, or with --force); daily bars show with --range 7D`
            : `no ${options.range} daily bars of ${name} in the warehouse; 'etl prices historical ${options.range} ${name}' fetches them`,
        )
        return
      }
      print(table(['t', 'open', 'high', 'low', 'close', 'volume'], bars.map((b) => [b.t, b.open, b.high, b.low, b.close, b.volume])))
      print(`${bars.length} ${options.range} bars of ${name} from the ${source}`)
    } finally {
      await closeCache(cache)
    }
  })
}

/** `etl cache warm`. */
export async function warm(command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const redis = (await openCache(ctx.config, ctx.log, { required: true }))!
    try {
      const warehouse = await ctx.connections.warehouse()
      const counts = await warmCache(redis, warehouse.db)
      print(`cache warmed: ${counts.latest} latest prices, ${counts.hourly} 1D charts, ${counts.metrics} metric payloads`)
    } finally {
      await closeCache(redis)
    }
  })
}

/** `etl cache stats [--json]`. */
export async function stats(options: { json?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const redis = (await openCache(ctx.config, ctx.log, { required: true }))!
    try {
      const s = await cacheStats(redis)
      if (options.json) {
        print(JSON.stringify(s))
        return
      }
      const ratio = (h: number, m: number) => (h + m === 0 ? '' : `${Math.round((100 * h) / (h + m))} %`)
      print(table(['family', 'keys', 'hits', 'misses', 'hit rate'], s.families.map((f) => [f.family, f.keys, f.hits, f.misses, ratio(f.hits, f.misses)])))
      print(`server: ${s.server.hits} hits, ${s.server.misses} misses (${ratio(s.server.hits, s.server.misses) || 'no reads'}), ${s.server.usedMemory ?? '?'} used`)
    } finally {
      await closeCache(redis)
    }
  })
}
