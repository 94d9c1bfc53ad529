import type { Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import { KINDS, type KindHandler } from '../kinds/index.js'

/** What `etl cache warm` put in the cache, per family its kinds name (`latest`, `hourly`, `metrics`). */
export type WarmCounts = Record<string, number>

/**
 * `etl cache warm`: each kind that declares `warmCache` (src/kinds) puts the payloads
 * dashboards ask for first into the cache, from the warehouse: the prices every symbol's latest
 * price and 1D chart, the rollups each tenant's most recent daily, weekly and monthly metrics.
 */
export async function warmCache(redis: Redis, db: Kysely<any>): Promise<WarmCounts> {
  const counts: WarmCounts = {}
  for (const kind of Object.values(KINDS) as KindHandler[]) Object.assign(counts, await kind.warmCache?.(redis, db))
  return counts
}
