import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { invalidateAfterRun, tagsOfRun } from '../../src/cache/invalidate.js'
import { cached, cacheGet, cacheSet, invalidateTags, metricsKeys, metricsTags, TTL } from '../../src/cache/metrics.js'
import { hourly1DKey, latestPriceKey } from '../../src/kinds/prices/cache.js'
import { openCache } from '../../src/cache/redis.js'
import { cacheStats } from '../../src/cache/stats.js'
import { warmCache } from '../../src/cache/warm.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { validateJob } from '../../src/engine/registry.js'
import { newInvocationId, runJob, type RunEnv } from '../../src/engine/runner.js'
import { silentLogger } from '../../src/log.js'
import { readLatest, readPrices } from '../../src/kinds/prices/read.js'
import hourly from '../../jobs/prices/ingest_prices_hourly.js'
import latest from '../../jobs/prices/update_latest_prices.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
// a key prefix of this file's own: other test files share the Redis server
const PREFIX = `nstest:${randomBytes(4).toString('hex')}:`
const IN_SESSION = new Date('2025-01-15T16:00:00Z')

let tw: TestWarehouse
let db: Database
let source: Database
let redis: Redis
// without the prefix, for cleaning up: SCAN returns full names and a prefixed client would prefix them again
let admin: Redis
let config: Config
let downConfig: Config

/** A port nothing listens on: Redis "stopped" without stopping the shared server. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = []
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { log, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) }
}

function env(cfg: Config, log = silentLogger): RunEnv {
  return { config: cfg, log, warehouse: db, source: async () => source, invocationId: newInvocationId(), now: () => IN_SESSION }
}

const mockJob = (definition: object, name: string): RegisteredJob => validateJob(definition, `jobs/prices/${name}.ts`)

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  // PGlite has one session: the source must be another database, or reading it waits for the run
  source = tw.kind === 'postgres' ? db : await tw.openSource()
  config = loadConfig({ ...tw.env, USE_MOCK_DATA: '1', REDIS_URL, REDIS_KEY_PREFIX: PREFIX })
  downConfig = loadConfig({ ...tw.env, USE_MOCK_DATA: '1', REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, REDIS_KEY_PREFIX: PREFIX })
  redis = new Redis(REDIS_URL, { keyPrefix: PREFIX, lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await admin.connect()
})

async function cleanRedis(): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await admin.del(...keys)
  } while (cursor !== '0')
}

afterAll(async () => {
  if (redis) {
    await cleanRedis()
    await redis.quit()
    await admin.quit()
  }
  if (source !== db) await source?.close()
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await db.exec('truncate etl_job_runs; truncate price_bars_hourly; truncate latest_prices')
  await cleanRedis()
})

describe('latest prices and 1D charts in Redis', () => {
  it('writes latest_price:{symbol} with a 60 s TTL after the commit, the same as the warehouse row', async () => {
    const outcome = await runJob(env(config), { job: mockJob(latest, 'update_latest_prices'), parameters: { symbols: ['AAPL', 'MSFT'] } })
    expect(outcome.status).toBe('SUCCESS')
    const ttl = await redis.ttl(latestPriceKey('AAPL'))
    expect(ttl).toBeGreaterThan(50)
    expect(ttl).toBeLessThanOrEqual(60)
    const cachedValue = JSON.parse((await redis.get(latestPriceKey('AAPL')))!)
    const row = await db.db.selectFrom('latest_prices').selectAll().where('symbol', '=', 'AAPL').executeTakeFirstOrThrow()
    expect(cachedValue).toMatchObject({ symbol: 'AAPL', price: Number(row.price), source: 'mock' })
    expect(await redis.exists(latestPriceKey('MSFT'))).toBe(1)
  })

  it('writes hourly_data:{symbol}:1D with a 120 s TTL, and the reader serves 1D from it', async () => {
    await runJob(env(config), { job: mockJob(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    const ttl = await redis.ttl(hourly1DKey('AAPL'))
    expect(ttl).toBeGreaterThan(100)
    expect(ttl).toBeLessThanOrEqual(120)
    const cache = (await openCache(config, silentLogger))!
    try {
      const warehouse = async () => db
      const fromCache = await readPrices('AAPL', '1D', { cache, warehouse, now: IN_SESSION, log: silentLogger })
      expect(fromCache.source).toBe('cache')
      // 09:00, 10:00 and 11:00 bars: 16:00 UTC is 11:00 in New York and the 11:00 bar is not over
      expect(fromCache.bars.map((b) => b.t)).toEqual(['2025-01-15T14:00:00.000Z', '2025-01-15T15:00:00.000Z'])
      await redis.del(hourly1DKey('AAPL'))
      const fromWarehouse = await readPrices('AAPL', '1D', { cache, warehouse, now: IN_SESSION, log: silentLogger })
      expect(fromWarehouse).toEqual({ ...fromCache, source: 'warehouse' })
      const none = await readPrices('NOPE', '1D', { cache, warehouse, now: IN_SESSION, log: silentLogger })
      expect(none).toEqual({ source: 'warehouse', bars: [] })
    } finally {
      await cache.quit()
    }
  })

  it('with Redis stopped: the warehouse is written, the run stays SUCCESS, one warning, no hang', async () => {
    const { log, warnings } = capturingLogger()
    const t0 = Date.now()
    const outcome = await runJob(env(downConfig, log), { job: mockJob(latest, 'update_latest_prices'), parameters: { symbols: ['AAPL', 'MSFT'] } })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(outcome.status).toBe('SUCCESS')
    expect(await db.db.selectFrom('latest_prices').select('symbol').execute()).toHaveLength(2)
    expect(warnings()).toEqual([expect.stringMatching(/^Redis at 127\.0\.0\.1:\d+ is unreachable \(.*\): the cache is skipped$/)])
  })

  it('reads from the warehouse when Redis is stopped or fails mid-read', async () => {
    await runJob(env(config), { job: mockJob(latest, 'update_latest_prices'), parameters: { symbols: ['AAPL'] } })
    const { log, warnings } = capturingLogger()
    expect(await openCache(downConfig, log)).toBeUndefined()
    const viaWarehouse = await readLatest('AAPL', { cache: undefined, warehouse: async () => db, now: IN_SESSION, log })
    expect(viaWarehouse).toMatchObject({ symbol: 'AAPL', from: 'warehouse', source: 'mock' })
    const broken = (await openCache(config, log))!
    broken.disconnect()
    const afterError = await readLatest('AAPL', { cache: broken, warehouse: async () => db, now: IN_SESSION, log })
    expect(afterError).toMatchObject({ symbol: 'AAPL', from: 'warehouse' })
    expect(warnings().at(-1)).toMatch(/^cache read of latest_price:AAPL failed .*; reading the warehouse$/)
  })

  it('refuses `etl cache …` work without a reachable Redis (exit 3)', async () => {
    await expect(openCache(downConfig, silentLogger, { required: true })).rejects.toMatchObject({ code: 'REDIS_UNREACHABLE' })
    await expect(openCache(loadConfig({ ...tw.env }), silentLogger, { required: true })).rejects.toMatchObject({ code: 'CONFIG' })
  })
})

describe('metrics cache', () => {
  it('names keys as the contract says', () => {
    expect(metricsKeys.daily('tenant', 7, '2025-01-15')).toBe('metrics:daily:tenant:7:2025-01-15')
    expect(metricsKeys.weekly('tenant', 7, '2025-01-13')).toBe('metrics:weekly:tenant:7:2025-01-13')
    expect(metricsKeys.monthly('tenant', 7, '2025-01-01')).toBe('metrics:monthly:tenant:7:2025-01')
    expect(metricsKeys.custom(12, '2025-01-01', '2025-01-31')).toBe('metrics:custom:12:2025-01-01:2025-01-31')
    expect(metricsKeys.dashboard(3, 'tenant', '30D')).toBe('metrics:dashboard:3:tenant:30D')
    expect(TTL).toEqual({ short: 300, default: 3600, long: 86_400 })
  })

  it('reads through, expires by tier, and invalidates by tag', async () => {
    const key = metricsKeys.daily('tenant', 1, '2025-01-15')
    let computed = 0
    const compute = async () => ({ sessions: ++computed })
    expect(await cached(redis, key, compute, { ttl: 'short', tags: [metricsTags.daily('2025-01-15'), metricsTags.tenant(1)] })).toEqual({ sessions: 1 })
    expect(await cached(redis, key, compute, { ttl: 'short' })).toEqual({ sessions: 1 })
    expect(await redis.ttl(key)).toBeLessThanOrEqual(300)
    await cacheSet(redis, metricsKeys.daily('tenant', 2, '2025-01-15'), { sessions: 9 }, { tags: [metricsTags.daily('2025-01-15')] })
    await cacheSet(redis, metricsKeys.daily('tenant', 2, '2025-01-14'), { sessions: 8 }, { tags: [metricsTags.daily('2025-01-14')] })
    expect(await invalidateTags(redis, [metricsTags.daily('2025-01-15')])).toBe(2)
    expect(await cacheGet(redis, key)).toBeUndefined()
    expect(await cacheGet(redis, metricsKeys.daily('tenant', 2, '2025-01-14'))).toEqual({ sessions: 8 })
  })

  it('after a rollup commits, invalidates that period and the dashboards', async () => {
    const rollup = { kind: 'rollup', name: 'aggregate_daily_metrics', definition: { aggregate: 'daily' } } as unknown as RegisteredJob
    expect(tagsOfRun(rollup, '2025-01-15')).toEqual(['metrics:daily:2025-01-15', 'metrics:dashboard'])
    expect(tagsOfRun({ kind: 'rollup', definition: { aggregate: 'custom_metrics' } } as unknown as RegisteredJob, '2025-01-15')).toEqual(['metrics:custom', 'metrics:dashboard'])
    expect(tagsOfRun({ kind: 'prices', definition: {} } as unknown as RegisteredJob, null)).toEqual([])
    await cacheSet(redis, metricsKeys.daily('tenant', 5, '2025-01-15'), 1, { tags: [metricsTags.daily('2025-01-15')] })
    await cacheSet(redis, metricsKeys.dashboard(1, 'tenant', '7D'), 2, { tags: [metricsTags.dashboard()] })
    await invalidateAfterRun(config, silentLogger, rollup, '2025-01-15')
    expect(await redis.exists(metricsKeys.daily('tenant', 5, '2025-01-15'), metricsKeys.dashboard(1, 'tenant', '7D'))).toBe(0)
  })

  it('warms latest prices and 1D charts from the warehouse and counts them in the stats', async () => {
    await runJob(env(loadConfig({ ...tw.env, USE_MOCK_DATA: '1' })), { job: mockJob(latest, 'update_latest_prices'), parameters: { symbols: ['AAPL', 'BTC'] } })
    await runJob(env(loadConfig({ ...tw.env, USE_MOCK_DATA: '1' })), { job: mockJob(hourly, 'ingest_prices_hourly'), parameters: { symbols: ['AAPL'] } })
    expect(await redis.exists(latestPriceKey('AAPL'))).toBe(0)
    const counts = await warmCache(redis, db.db)
    expect(counts).toMatchObject({ latest: 2, hourly: 1 })
    expect(await redis.exists(latestPriceKey('AAPL'), latestPriceKey('BTC'), hourly1DKey('AAPL'))).toBe(3)
    await readPrices('AAPL', '1D', { cache: redis, warehouse: async () => db, now: IN_SESSION, log: silentLogger })
    await readPrices('MSFT', '1D', { cache: redis, warehouse: async () => db, now: IN_SESSION, log: silentLogger })
    const stats = await cacheStats(redis)
    expect(stats.families.find((f) => f.family === 'latest_price')).toMatchObject({ keys: 2 })
    expect(stats.families.find((f) => f.family === 'hourly_data')).toMatchObject({ keys: 1, hits: 1, misses: 1 })
    expect(stats.server.hits).toBeGreaterThan(0)
  })
})
