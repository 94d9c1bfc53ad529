import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { EtlError } from '../errors.js'
import type { Logger } from '../log.js'
import { redact } from '../redact.js'

export type { Redis }

export interface CacheOptions {
  /** Prepended to every key; default `config.redisKeyPrefix` (REDIS_KEY_PREFIX), else none. Lets environments (and test files) share one Redis. */
  keyPrefix?: string
  /** Connect and command timeout, ms. */
  timeoutMs?: number
  /** For commands whose whole point is the cache (`etl cache …`): no Redis is an error (exit 3), not a warning. */
  required?: boolean
}

/**
 * The optional Redis cache. Returns a connected client, or undefined after one warning when
 * REDIS_URL is unset or Redis cannot be reached: the cache is an accelerator, never a reason for
 * a run to fail. The client fails fast instead of queueing: no offline queue, one retry per
 * command, no reconnect loop, short timeouts, so a Redis that dies mid-run costs a warning, not a
 * hang.
 */
export async function openCache(config: Config, log: Logger, options: CacheOptions = {}): Promise<Redis | undefined> {
  if (!config.redisUrl) {
    if (options.required) throw new EtlError('CONFIG', 'REDIS_URL is not set; point it at the Redis of the cache (redis://host:6379)')
    log.warn('REDIS_URL is not set: the cache is skipped')
    return undefined
  }
  const { Redis } = await import('ioredis')
  const timeout = options.timeoutMs ?? 1000
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout * 2,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    keyPrefix: options.keyPrefix ?? config.redisKeyPrefix,
  })
  // a lost connection is reported by the next command; the event must not crash the process
  redis.on('error', () => {})
  try {
    await redis.connect()
    return redis
  } catch (error) {
    redis.disconnect()
    const problem = `Redis at ${redis.options.host}:${redis.options.port} is unreachable (${redact((error as Error).message)})`
    if (options.required) throw new EtlError('REDIS_UNREACHABLE', `${problem}; check REDIS_URL and that the server is up`, { cause: error })
    log.warn(`${problem}: the cache is skipped`)
    return undefined
  }
}

/** Closes a client from openCache, quietly. */
export async function closeCache(redis: Redis | undefined): Promise<void> {
  if (!redis) return
  try {
    await redis.quit()
  } catch {
    redis.disconnect()
  }
}

/**
 * Runs a cache operation; a Redis failure becomes one warning and `fallback`. For writes after a
 * commit and reads that can go to the warehouse instead.
 */
export async function tryCache<T>(log: Logger, what: string, fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    log.warn(`cache ${what} failed (${redact((error as Error).message)}); going on without it`)
    return fallback
  }
}
