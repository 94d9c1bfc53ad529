import { defineRollup } from '../../src/define.js'

// Calendar months from daily_metrics only, with a breakdown by the ISO weeks that touch the month.
export default defineRollup({
  kind: 'rollup',
  schedule: '0 5 2 * *',
  partition: 'month',
  pipeline: false,
  dependsOn: ['aggregate_daily_metrics'],
  aggregate: 'monthly',
  dailyJob: 'aggregate_daily_metrics',
})
