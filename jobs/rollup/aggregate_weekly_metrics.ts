import { defineRollup } from '../../src/define.js'

// Monday-start weeks from daily_metrics only; complete when all 7 days of the daily rollup are SUCCESS.
export default defineRollup({
  kind: 'rollup',
  schedule: '0 4 * * 1',
  partition: 'week',
  pipeline: false,
  dependsOn: ['aggregate_daily_metrics'],
  aggregate: 'weekly',
  dailyJob: 'aggregate_daily_metrics',
})
