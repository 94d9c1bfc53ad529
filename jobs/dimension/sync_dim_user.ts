import { defineDimension } from '../../src/define.js'

// SCD Type 2 of users, hourly; a version is valid from the row's updated_at (dbt snapshot semantics)
export default defineDimension({
  kind: 'dimension',
  schedule: '10 * * * *',
  source: { table: 'public.users' },
  businessKey: ['id'],
  strategy: { type: 'timestamp', updatedAt: 'updated_at' },
  target: 'dim_user',
  hardDeletes: 'invalidate',
  checks: [
    { type: 'not_null', columns: ['id'] },
    { type: 'unique', columns: ['id'] },
  ],
})
