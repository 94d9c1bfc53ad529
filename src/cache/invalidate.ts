import type { Config } from '../config.js'
import type { RegisteredJob } from '../engine/job.js'
import type { Logger } from '../log.js'
import { metricsTags } from './metrics.js'
import { closeCache, openCache, tryCache } from './redis.js'
import { invalidateTags } from './metrics.js'

/**
 * The cache tags a finished run makes stale: a rollup of a day, week or month invalidates that
 * period's metric payloads and every dashboard; custom metrics theirs. Other kinds: none.
 */
export function tagsOfRun(job: RegisteredJob, target: string | null): string[] {
  if (job.kind !== 'rollup') return []
  const aggregate = (job.definition as { aggregate?: unknown }).aggregate
  if (aggregate === 'custom_metrics') return [metricsTags.custom(), metricsTags.dashboard()]
  if (!target) return [metricsTags.dashboard()]
  if (aggregate === 'daily') return [metricsTags.daily(target), metricsTags.dashboard()]
  if (aggregate === 'weekly') return [metricsTags.weekly(target), metricsTags.dashboard()]
  if (aggregate === 'monthly') return [metricsTags.monthly(target), metricsTags.dashboard()]
  return [metricsTags.dashboard()]
}

/**
 * Called by the runner after a run committed. Without REDIS_URL there is no cache to make stale,
 * so nothing happens and nothing is logged; a Redis that is down costs one warning.
 */
export async function invalidateAfterRun(config: Config, log: Logger, job: RegisteredJob, target: string | null): Promise<void> {
  const tags = tagsOfRun(job, target)
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
