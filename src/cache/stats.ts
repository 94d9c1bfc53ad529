import type { Redis } from 'ioredis'

/** Our own hit and miss counters, per key family, in one hash (Redis's own count every GET of every client). */
export const STATS_KEY = 'cache_stats'

/** The key families `etl cache stats` reports. */
export const FAMILIES = ['latest_price', 'hourly_data', 'metrics:daily', 'metrics:weekly', 'metrics:monthly', 'metrics:custom', 'metrics:dashboard'] as const

export async function countHit(redis: Redis, family: string, hit: boolean): Promise<void> {
  await redis.hincrby(STATS_KEY, `${family}:${hit ? 'hits' : 'misses'}`, 1)
}

export interface FamilyStats {
  family: string
  keys: number
  hits: number
  misses: number
}

export interface CacheStats {
  families: FamilyStats[]
  /** The server's keyspace_hits / keyspace_misses (every client of this Redis). */
  server: { hits: number; misses: number; usedMemory: string | undefined }
}

/** Counts keys per family with SCAN (never KEYS, which blocks the server), and reads the counters. */
export async function cacheStats(redis: Redis): Promise<CacheStats> {
  const prefix = redis.options.keyPrefix ?? ''
  const counters = await redis.hgetall(STATS_KEY)
  const families: FamilyStats[] = []
  for (const family of FAMILIES) {
    let keys = 0
    let cursor = '0'
    do {
      // SCAN does not apply keyPrefix: the pattern carries it
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}${family}:*`, 'COUNT', 1000)
      cursor = next
      keys += batch.length
    } while (cursor !== '0')
    families.push({ family, keys, hits: Number(counters[`${family}:hits`] ?? 0), misses: Number(counters[`${family}:misses`] ?? 0) })
  }
  const info = await redis.info('stats')
  const memory = await redis.info('memory')
  const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim()
  return {
    families,
    server: { hits: Number(field(info, 'keyspace_hits') ?? 0), misses: Number(field(info, 'keyspace_misses') ?? 0), usedMemory: field(memory, 'used_memory_human') },
  }
}
