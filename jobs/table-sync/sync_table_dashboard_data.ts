import { defineTableSync } from '../../src/define.js'

// The dashboard's daily snapshot per file, portfolio and service. A snapshot day is corrected
// for up to a week, so each run reads the last 7 days again; weekly chunks, kept two years.
export default defineTableSync({
  kind: 'table-sync',
  name: 'sync_table_dashboard_data',
  schedule: '15 * * * *',
  source: { table: 'public.dashboard_data', connection: 'oltp' },
  target: 'dashboard_data',
  primaryKey: ['fecha_foto', 'archivo', 'cartera', 'servicio'],
  incrementalColumn: 'fecha_foto',
  lookbackDays: 7,
  timePartition: { column: 'fecha_foto', chunk: '7 days', retention: '2 years' },
})
