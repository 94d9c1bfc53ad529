import { defineTableSync } from '../../src/define.js'

// Every agent operation (calls, messages, visits): the largest table, append-only, read every
// 15 minutes with a day of lookback for late uploads; daily chunks, kept one year.
export default defineTableSync({
  kind: 'table-sync',
  name: 'sync_table_operation_data',
  schedule: '*/15 * * * *',
  source: { table: 'public.operation_data', connection: 'oltp' },
  target: 'operation_data',
  primaryKey: ['occurred_at', 'operation_id'],
  incrementalColumn: 'occurred_at',
  lookbackDays: 1,
  timePartition: { column: 'occurred_at', chunk: '1 day', retention: '1 year' },
})
