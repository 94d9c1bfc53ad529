import type { Config } from '../config.js'
import type { RegisteredJob } from '../engine/job.js'
import { KINDS, type KindHandler } from '../kinds/index.js'
import type { Logger } from '../log.js'
import { invalidateTags } from './metrics.js'
import { closeCache, openCache, tryCache } from './redis.js'

/** The cache tags a finished run makes stale, as its kind declares them (src/kinds); most kinds: none. */
export function tagsOfRun(job: RegisteredJob, target: string | null): string[] {
  const kind: KindHandler = KINDS[job.kind]
  return kind.cacheTags?.(job, target) ?? []
}

/**
 * Deletes the keys carrying the tags. Without REDIS_URL there is no cache to make stale, so
 * nothing happens and nothing is logged; a Redis that is down costs one warning.
 */
export async function invalidateCacheTags(config: Config, log: Logger, tags: readonly string[]): Promise<void> {
  if (tags.length === 0 || !config.redisUrl) return
  const redis = await openCache(config, log)
  if (!redis) return
  try {
    const deleted = await tryCache(log, 'invalidation', () => invalidateTags(redis, tags), 0)
    if (deleted) log.info({ tags, deleted }, 'invalidated cached metrics')
  } finally {
    await closeCache(redis)
  }
}

/** The invalidation a finished run of the job calls for (what a kind's `afterCommit` does for its tags). */
export async function invalidateAfterRun(config: Config, log: Logger, job: RegisteredJob, target: string | null): Promise<void> {
  await invalidateCacheTags(config, log, tagsOfRun(job, target))
}
