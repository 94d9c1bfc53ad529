import { defineTableSync } from '../../src/define.js'

// Cases assigned to agents, by assignment day; weekly chunks, two years.
export default defineTableSync({
  kind: 'table-sync',
  name: 'sync_table_assignment_data',
  schedule: '25 * * * *',
  source: { table: 'public.assignment_data', connection: 'oltp' },
  target: 'assignment_data',
  primaryKey: ['fecha_asignacion', 'expediente_id'],
  incrementalColumn: 'fecha_asignacion',
  lookbackDays: 2,
  timePartition: { column: 'fecha_asignacion', chunk: '7 days', retention: '2 years' },
})
