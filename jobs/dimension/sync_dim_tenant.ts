import { defineDimension } from '../../src/define.js'

// SCD Type 2 of tenants, hourly; a version is valid from the row's updated_at (dbt snapshot semantics)
export default defineDimension({
  kind: 'dimension',
  schedule: '0 * * * *',
  source: { table: 'public.tenants' },
  businessKey: ['id'],
  strategy: { type: 'timestamp', updatedAt: 'updated_at' },
  target: 'dim_tenant',
  hardDeletes: 'invalidate',
  checks: [
    { type: 'not_null', columns: ['id'] },
    { type: 'unique', columns: ['id'] },
  ],
})
