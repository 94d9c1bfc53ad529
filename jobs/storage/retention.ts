import { defineJob } from '../../src/define.js'
import { applyRetention } from '../../src/storage/retention.js'

// Daily: for every table in etl_storage_policies with a retention (table-sync targets, price bars,
// tenant series), drops the partitions or chunks whose rows are all past it, and the ledger's old
// rows. Rows removed show in `etl status`. The name stays `retention`: crontab lines run it by name.
export default defineJob({
  kind: 'custom',
  name: 'retention',
  schedule: '30 1 * * *',
  partition: 'none',
  pipeline: false,
  run: applyRetention,
})
