import { defineTableSync } from '../../src/define.js'

// Agents' daily productivity, rewritten through the day (updated_at); monthly chunks, three years.
export default defineTableSync({
  kind: 'table-sync',
  name: 'sync_table_productivity_data',
  schedule: '30 * * * *',
  source: { table: 'public.productivity_data', connection: 'oltp' },
  target: 'productivity_data',
  primaryKey: ['fecha', 'agente_id'],
  incrementalColumn: 'updated_at',
  lookbackDays: 1,
  timePartition: { column: 'fecha', chunk: '1 month', retention: '3 years' },
})
