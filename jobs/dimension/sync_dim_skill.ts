import { defineDimension } from '../../src/define.js'

// SCD Type 2 of skills, daily; a version is valid from the row's updated_at (dbt snapshot semantics)
export default defineDimension({
  kind: 'dimension',
  schedule: '20 1 * * *',
  source: { table: 'public.skills' },
  businessKey: ['id'],
  strategy: { type: 'timestamp', updatedAt: 'updated_at' },
  target: 'dim_skill',
  hardDeletes: 'invalidate',
  checks: [
    { type: 'not_null', columns: ['id'] },
    { type: 'unique', columns: ['id'] },
  ],
})
