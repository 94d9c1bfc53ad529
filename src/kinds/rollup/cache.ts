import { sql, type Kysely } from 'kysely'
import type { Redis } from 'ioredis'
import type { RegisteredJob } from '../../engine/job.js'
import { cacheSet, metricsKeys, metricsTags } from '../../cache/metrics.js'
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

/** `etl cache warm` for rollups: each tenant's latest daily, weekly and monthly metrics (when those tables exist); closed periods get the long TTL. */
export async function warmMetricsCache(redis: Redis, db: Kysely<any>): Promise<{ metrics: number }> {
  let metrics = 0
  metrics += await warmPeriod(redis, db, 'daily_metrics', 'metric_date', (r, d) => [metricsKeys.daily('tenant', r.tenant_id, d), [metricsTags.daily(d)]])
  metrics += await warmPeriod(redis, db, 'weekly_metrics', 'week_start', (r, d) => [metricsKeys.weekly('tenant', r.tenant_id, d), [metricsTags.weekly(d)]])
  metrics += await warmPeriod(redis, db, 'monthly_metrics', 'month_start', (r, d) => [metricsKeys.monthly('tenant', r.tenant_id, d), [metricsTags.monthly(d)]])
  return { metrics }
}

/** The latest period's row of every tenant, as JSON, under its key; nothing if the table is not there. */
async function warmPeriod(
  redis: Redis,
  db: Kysely<any>,
  table: 'daily_metrics' | 'weekly_metrics' | 'monthly_metrics',
  dateColumn: 'metric_date' | 'week_start' | 'month_start',
  keyOf: (row: { tenant_id: string | number }, date: string) => [string, string[]],
): Promise<number> {
  const { rows: [exists] } = await sql<{ ok: boolean }>`select to_regclass(${table}) is not null as ok`.execute(db)
  if (!exists?.ok) return 0
  const { rows } = await sql<{ payload: Record<string, unknown> & { tenant_id: number; is_complete?: boolean }; period: string }>`
    select to_jsonb(m) as payload, m.${sql.ref(dateColumn)}::text as period from ${sql.table(table)} m
    where m.${sql.ref(dateColumn)} = (select max(${sql.ref(dateColumn)}) from ${sql.table(table)})`.execute(db)
  for (const { payload, period } of rows) {
    const [key, tags] = keyOf(payload, period)
    await cacheSet(redis, key, payload, { ttl: payload.is_complete ? 'long' : 'default', tags: [...tags, metricsTags.tenant(payload.tenant_id)] })
  }
  return rows.length
}
