import type { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { DateTime } from 'luxon'

/**
 * Real-time metrics in Redis for apps that record events: counters per day, gauges, histograms
 * with percentiles over a sliding window, and rates. Every key has a TTL, so an abandoned metric
 * costs nothing for long; `cleanup` trims what TTLs cannot (old histogram samples).
 *
 * @example
 * const rt = realtimeMetrics(redis)
 * await rt.increment('sessions:tenant:7')
 * await rt.observe('api_latency_ms', 42)
 * const { p95 } = await rt.percentiles('api_latency_ms', [95])
 */
export interface RealtimeOptions {
  /** The zone whose calendar day a counter counts; default UTC. */
  timezone?: string
  /** How long a day's counter lives; default 3 days (reconciliation needs yesterday's). */
  counterTtlS?: number
  gaugeTtlS?: number
  /** Histogram samples older than this are dropped; default 1 hour. */
  histogramWindowMs?: number
  now?: () => Date
}

export const realtimeKeys = {
  counter: (name: string, day: string) => `rt:counter:${name}:${day}`,
  gauge: (name: string) => `rt:gauge:${name}`,
  histogram: (name: string) => `rt:hist:${name}`,
  rate: (name: string, second: number) => `rt:rate:${name}:${second}`,
}

export function realtimeMetrics(redis: Redis, options: RealtimeOptions = {}) {
  const zone = options.timezone ?? 'UTC'
  const counterTtl = options.counterTtlS ?? 3 * 86_400
  const gaugeTtl = options.gaugeTtlS ?? 86_400
  const window = options.histogramWindowMs ?? 3_600_000
  const now = options.now ?? (() => new Date())
  const dayOf = (at: Date) => DateTime.fromJSDate(at, { zone }).toISODate()!

  return {
    /** Adds to today's counter. Returns the new value. */
    async increment(name: string, by = 1, at: Date = now()): Promise<number> {
      const key = realtimeKeys.counter(name, dayOf(at))
      const [[error, value]] = (await redis.multi().incrby(key, by).expire(key, counterTtl).exec())! as [[Error | null, number]]
      if (error) throw error
      return value
    },
    async counter(name: string, day: string = dayOf(now())): Promise<number> {
      return Number((await redis.get(realtimeKeys.counter(name, day))) ?? 0)
    },
    /** Overwrites a day's counter (reconciliation). Returns the drift corrected: new − old. */
    async correct(name: string, day: string, value: number): Promise<number> {
      const key = realtimeKeys.counter(name, day)
      const old = Number((await redis.getset(key, String(value))) ?? 0)
      await redis.expire(key, counterTtl)
      return value - old
    },
    async gauge(name: string, value: number): Promise<void> {
      await redis.set(realtimeKeys.gauge(name), String(value), 'EX', gaugeTtl)
    },
    async readGauge(name: string): Promise<number | undefined> {
      const v = await redis.get(realtimeKeys.gauge(name))
      return v === null ? undefined : Number(v)
    },
    /** Records a sample; the set keeps the window's samples scored by time. */
    async observe(name: string, value: number, at: Date = now()): Promise<void> {
      const key = realtimeKeys.histogram(name)
      const t = at.getTime()
      await redis
        .multi()
        .zadd(key, t, `${value}:${randomBytes(4).toString('hex')}`)
        .zremrangebyscore(key, '-inf', t - window)
        .pexpire(key, window)
        .exec()
    },
    /** Percentiles (nearest rank) of the samples in the last `windowMs`. Empty window → {}. */
    async percentiles(name: string, ps: readonly number[] = [50, 95, 99], windowMs = window): Promise<Record<string, number>> {
      const t = now().getTime()
      const members = await redis.zrangebyscore(realtimeKeys.histogram(name), t - windowMs, '+inf')
      const values = members.map((m) => Number(m.slice(0, m.lastIndexOf(':')))).sort((a, b) => a - b)
      const out: Record<string, number> = {}
      if (values.length === 0) return out
      for (const p of ps) out[`p${p}`] = values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!
      return out
    },
    /** Counts an event in its second's bucket. */
    async mark(name: string, n = 1, at: Date = now()): Promise<void> {
      const key = realtimeKeys.rate(name, Math.floor(at.getTime() / 1000))
      await redis.multi().incrby(key, n).expire(key, 3600).exec()
    },
    /** Events per second over the last `windowS` seconds (at most an hour). */
    async rate(name: string, windowS = 60): Promise<number> {
      const second = Math.floor(now().getTime() / 1000)
      const keys = Array.from({ length: Math.min(windowS, 3600) }, (_, i) => realtimeKeys.rate(name, second - i))
      const values = await redis.mget(...keys)
      return values.reduce((sum, v) => sum + Number(v ?? 0), 0) / windowS
    },
    /** Drops histogram samples past the window everywhere (TTLs handle the rest). Returns samples removed. */
    async cleanup(): Promise<number> {
      const prefix = redis.options.keyPrefix ?? ''
      let removed = 0
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}rt:hist:*`, 'COUNT', 500)
        cursor = next
        for (const full of keys) removed += await redis.zremrangebyscore(full.slice(prefix.length), '-inf', now().getTime() - window)
      } while (cursor !== '0')
      return removed
    },
  }
}

export type RealtimeMetrics = ReturnType<typeof realtimeMetrics>
