import { defineSeries } from '../../src/define.js'

// Every active tenant's chart rows (weekly, monthly, quarterly, yearly windows) from daily_metrics.
export default defineSeries({
  kind: 'series',
  schedule: '*/15 * * * *',
  dependsOn: ['sync_dim_tenant', 'aggregate_daily_metrics'],
  concurrency: 4,
  // its SUCCESS days make a bucket is_complete
  dailyJob: 'aggregate_daily_metrics',
})
