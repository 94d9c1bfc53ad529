import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { realtimeKeys, realtimeMetrics } from '../../src/cache/realtime.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `nstest:${randomBytes(4).toString('hex')}:`
let redis: Redis
let admin: Redis

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { keyPrefix: PREFIX, lazyConnect: true, maxRetriesPerRequest: 1 })
  admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await Promise.all([redis.connect(), admin.connect()])
})

afterAll(async () => {
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await admin.del(...keys)
  } while (cursor !== '0')
  await redis?.quit()
  await admin?.quit()
})

describe('real-time metrics in Redis', () => {
  const at = new Date('2025-01-15T12:00:00Z')
  const rt = () => realtimeMetrics(redis, { now: () => at, histogramWindowMs: 60_000 })

  it('counts per day with a TTL, and corrects drift returning it', async () => {
    await rt().increment('sessions', 1)
    expect(await rt().increment('sessions', 2)).toBe(3)
    expect(await rt().counter('sessions', '2025-01-15')).toBe(3)
    expect(await redis.ttl(realtimeKeys.counter('sessions', '2025-01-15'))).toBeGreaterThan(86_400)
    expect(await rt().correct('sessions', '2025-01-15', 5)).toBe(2)
    expect(await rt().counter('sessions')).toBe(5)
  })

  it('keeps gauges, and percentiles over the sliding window only', async () => {
    await rt().gauge('queue', 12)
    expect(await rt().readGauge('queue')).toBe(12)
    for (let v = 1; v <= 100; v++) await rt().observe('latency', v, at)
    await rt().observe('latency', 10_000, new Date(at.getTime() - 120_000)) // outside the window
    expect(await rt().percentiles('latency', [50, 95, 99])).toEqual({ p50: 50, p95: 95, p99: 99 })
    expect(await rt().percentiles('nothing')).toEqual({})
  })

  it('measures a rate in events per second', async () => {
    for (let s = 0; s < 10; s++) await rt().mark('logins', 3, new Date(at.getTime() - s * 1000))
    expect(await rt().rate('logins', 10)).toBe(3)
    expect(await rt().rate('logins', 60)).toBe(0.5)
  })

  it('cleans old histogram samples up', async () => {
    const later = realtimeMetrics(redis, { now: () => new Date(at.getTime() + 61_000), histogramWindowMs: 60_000 })
    expect(await later.cleanup()).toBeGreaterThanOrEqual(100)
  })
})
