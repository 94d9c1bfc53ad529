import { sql } from 'kysely'
import { realtimeMetrics } from '../../src/cache/realtime.js'
import { closeCache, openCache } from '../../src/cache/redis.js'
import { defineJob } from '../../src/define.js'
import { dateKey } from '../../src/time/calendar.js'

/**
 * Corrects the apps' real-time session counters (`sessions:tenant:{id}`, per day) against the
 * warehouse, logging the drift. It reconciles the newest day whose sessions are built: the
 * warehouse holds complete days, and correcting today's still-moving counter against a partial
 * day would make it wrong, not right.
 */
export default defineJob({
  kind: 'custom',
  description: 'correct real-time session counters in Redis from fact_sessions, logging drift',
  schedule: '5 * * * *',
  partition: 'none',
  pipeline: false,
  async run(ctx) {
    const redis = await openCache(ctx.config, ctx.log)
    if (!redis) return { skipped: 'no Redis (REDIS_URL unset or unreachable): nothing to reconcile' }
    try {
      const day = await ctx.ledger.latestSuccessTarget('build_fact_sessions')
      if (!day) return { skipped: 'no day of fact_sessions is built yet' }
      const counts = await sql<{ tenant_id: number; n: number }>`
        select tenant_id, count(*)::int as n from fact_sessions where date_key = ${dateKey(day)} group by tenant_id order by tenant_id`.execute(ctx.db)
      const rt = realtimeMetrics(redis, { timezone: ctx.config.timezone })
      let corrected = 0
      for (const { tenant_id, n } of counts.rows) {
        const drift = await rt.correct(`sessions:tenant:${tenant_id}`, day, n)
        if (drift !== 0) {
          corrected++
          ctx.log.warn({ tenant: tenant_id, day, drift }, 'corrected a drifted real-time session counter')
        }
      }
      return { rowsProcessed: counts.rows.length, rowsUpdated: corrected }
    } finally {
      await closeCache(redis)
    }
  },
})
