import type { Redis } from 'ioredis'
import { countHit } from './stats.js'

/** TTL tiers of the metrics cache, seconds: short for today's moving numbers, long for closed periods. */
export const TTL = { short: 300, default: 3600, long: 86_400 } as const
export type TtlTier = keyof typeof TTL

/**
 * Keys of the metrics cache (issue #5). `type` is what the id names ('tenant', 'learner'…).
 *
 * @example metricsKeys.daily('tenant', 7, '2025-01-15') // 'metrics:daily:tenant:7:2025-01-15'
 */
export const metricsKeys = {
  daily: (type: string, id: string | number, date: string) => `metrics:daily:${type}:${id}:${date}`,
  weekly: (type: string, id: string | number, weekStart: string) => `metrics:weekly:${type}:${id}:${weekStart}`,
  monthly: (type: string, id: string | number, month: string) => `metrics:monthly:${type}:${id}:${month.slice(0, 7)}`,
  custom: (definitionId: string | number, from: string, to: string) => `metrics:custom:${definitionId}:${from}:${to}`,
  dashboard: (userId: string | number, type: string, range: string) => `metrics:dashboard:${userId}:${type}:${range}`,
}

/**
 * Tags group keys that go stale together: a rollup of a day makes `metrics:daily:{day}` stale,
 * whatever tenant or user a key is about. A tag is a Redis set of the keys that carry it.
 */
export const tagKey = (tag: string) => `tag:${tag}`

export const metricsTags = {
  daily: (date: string) => `metrics:daily:${date}`,
  weekly: (weekStart: string) => `metrics:weekly:${weekStart}`,
  monthly: (month: string) => `metrics:monthly:${month.slice(0, 7)}`,
  custom: () => 'metrics:custom',
  dashboard: () => 'metrics:dashboard',
  tenant: (id: string | number) => `tenant:${id}`,
}

/** Stores a JSON value with a TTL tier and tags, in one pipeline. */
export async function cacheSet(redis: Redis, key: string, value: unknown, options: { ttl?: TtlTier; tags?: readonly string[] } = {}): Promise<void> {
  const seconds = TTL[options.ttl ?? 'default']
  const pipeline = redis.pipeline().set(key, JSON.stringify(value), 'EX', seconds)
  for (const tag of options.tags ?? []) {
    pipeline.sadd(tagKey(tag), key)
    // a tag outlives every key it names (the longest tier); stale members cost a DEL of nothing
    pipeline.expire(tagKey(tag), TTL.long)
  }
  const results = (await pipeline.exec()) ?? []
  const failed = results.find(([error]) => error)
  if (failed) throw failed[0]
}

/** A cached JSON value, counting the hit or miss for `etl cache stats`. */
export async function cacheGet<T>(redis: Redis, key: string): Promise<T | undefined> {
  const text = await redis.get(key)
  await countHit(redis, familyOf(key), text !== null)
  return text === null ? undefined : (JSON.parse(text) as T)
}

/** Read-through: the cached value, or `compute()` stored with its TTL and tags. */
export async function cached<T>(redis: Redis, key: string, compute: () => Promise<T>, options: { ttl?: TtlTier; tags?: readonly string[] } = {}): Promise<T> {
  const hit = await cacheGet<T>(redis, key)
  if (hit !== undefined) return hit
  const value = await compute()
  await cacheSet(redis, key, value, options)
  return value
}

/** Deletes every key carrying any of the tags, and the tags. Returns how many keys went. */
export async function invalidateTags(redis: Redis, tags: readonly string[]): Promise<number> {
  let deleted = 0
  for (const tag of tags) {
    const keys = await redis.smembers(tagKey(tag))
    // keyPrefix applies to DEL arguments, and the members were stored unprefixed
    for (let i = 0; i < keys.length; i += 500) deleted += await redis.del(...keys.slice(i, i + 500))
    await redis.del(tagKey(tag))
  }
  return deleted
}

function familyOf(key: string): string {
  const [a, b] = key.split(':')
  return a === 'metrics' ? `metrics:${b}` : (a ?? key)
}
