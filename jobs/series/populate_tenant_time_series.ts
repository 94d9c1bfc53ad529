import { defineSeries } from '../../src/define.js'

// Every active tenant's chart rows (weekly, monthly, quarterly, yearly windows) from daily_metrics.
export default defineSeries({
  kind: 'series',
  schedule: '*/15 * * * *',
  dependsOn: ['sync_dim_tenant', 'aggregate_daily_metrics'],
  concurrency: 4,
})
