import { defineJob } from '../../src/define.js'
import { applyRetention } from '../../src/storage/retention.js'

// Daily: drops the partitions of time-partitioned sync targets whose rows are all past their
// timePartition.retention (TimescaleDB: drop_chunks). Rows removed show in `etl status`.
export default defineJob({
  kind: 'custom',
  name: 'retention',
  schedule: '30 1 * * *',
  partition: 'none',
  pipeline: false,
  run: applyRetention,
})
