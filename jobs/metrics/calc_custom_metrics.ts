import { defineRollup } from '../../src/define.js'

// Every active custom metric definition (latest version) for the day, into custom_metric_values.
export default defineRollup({
  kind: 'rollup',
  schedule: '30 3 * * *',
  dependsOn: ['aggregate_daily_metrics', 'build_fact_learning_progress'],
  aggregate: 'custom_metrics',
})
