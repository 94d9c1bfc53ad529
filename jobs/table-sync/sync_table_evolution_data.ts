import { defineTableSync } from '../../src/define.js'

// Daily evolution of debt and recoveries per portfolio and service; monthly chunks, five years.
export default defineTableSync({
  kind: 'table-sync',
  name: 'sync_table_evolution_data',
  schedule: '20 * * * *',
  source: { table: 'public.evolution_data', connection: 'oltp' },
  target: 'evolution_data',
  primaryKey: ['fecha', 'cartera', 'servicio'],
  incrementalColumn: 'updated_at',
  lookbackDays: 3,
  timePartition: { column: 'fecha', chunk: '1 month', retention: '5 years' },
})
