import { defineDimension } from '../../src/define.js'

// SCD Type 2 of learners, hourly; a version is valid from the row's updated_at (dbt snapshot semantics)
export default defineDimension({
  kind: 'dimension',
  schedule: '5 * * * *',
  source: { table: 'public.learners' },
  businessKey: ['id'],
  strategy: { type: 'timestamp', updatedAt: 'updated_at' },
  target: 'dim_learner',
  hardDeletes: 'invalidate',
  checks: [
    { type: 'not_null', columns: ['id'] },
    { type: 'unique', columns: ['id'] },
  ],
})
