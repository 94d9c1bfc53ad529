import type { RegisteredJob } from '../../engine/job.js'
import { metricsTags } from '../../cache/metrics.js'
import type { CommittedRun } from '../kind.js'

/**
 * The cache tags a finished rollup makes stale: a rollup of a day, week or month invalidates
 * that period's metric payloads and every dashboard; custom metrics theirs.
 */
export function rollupCacheTags(job: RegisteredJob, target: string | null): string[] {
  const aggregate = (job.definition as { aggregate?: unknown }).aggregate
  if (aggregate === 'custom_metrics') return [metricsTags.custom(), metricsTags.dashboard()]
  if (!target) return [metricsTags.dashboard()]
  if (aggregate === 'daily') return [metricsTags.daily(target), metricsTags.dashboard()]
  if (aggregate === 'weekly') return [metricsTags.weekly(target), metricsTags.dashboard()]
  if (aggregate === 'monthly') return [metricsTags.monthly(target), metricsTags.dashboard()]
  return [metricsTags.dashboard()]
}

/** After a rollup committed: its payloads in the cache go. Without REDIS_URL, nothing to do and no Redis client loaded. */
export async function invalidateRollupCache(run: CommittedRun): Promise<void> {
  if (!run.config.redisUrl) return
  const { invalidateCacheTags } = await import('../../cache/invalidate.js')
  await invalidateCacheTags(run.config, run.log, rollupCacheTags(run.job, run.target))
}
