import { realtimeMetrics } from '../../src/cache/realtime.js'
import { closeCache, openCache } from '../../src/cache/redis.js'
import { defineJob } from '../../src/define.js'

// TTLs retire counters, gauges and rates; histogram samples past their window need trimming.
export default defineJob({
  kind: 'custom',
  description: 'drop real-time histogram samples past their window',
  schedule: '15 0 * * *',
  partition: 'none',
  pipeline: false,
  async run(ctx) {
    const redis = await openCache(ctx.config, ctx.log)
    if (!redis) return { skipped: 'no Redis (REDIS_URL unset or unreachable): nothing to clean' }
    try {
      const removed = await realtimeMetrics(redis).cleanup()
      return { rowsProcessed: removed, rowsDeleted: removed }
    } finally {
      await closeCache(redis)
    }
  },
})
