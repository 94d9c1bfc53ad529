import { defineFact } from '../../src/define.js'
import { versionAt } from '../../src/kinds/dimension/point-in-time.js'

// Homework submissions, by the day they were submitted.
export default defineFact({
  kind: 'fact',
  schedule: '0 2 * * *',
  dependsOn: ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_subject'],
  source: { table: 'public.homework_submissions', timeColumn: 'submitted_at', recordedColumn: 'updated_at' },
  target: 'fact_homework_events',
  lookbackDays: 2,
  select: `
    select h.id as submission_id, {{date_key}} as date_key, h.tenant_id, h.learner_id,
           ${versionAt({ dimension: 'dim_tenant', key: 'tenant_key', businessKey: 'id', value: 'h.tenant_id', at: 'h.submitted_at' })} as tenant_key,
           ${versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 'h.learner_id', at: 'h.submitted_at' })} as learner_key,
           ${versionAt({ dimension: 'dim_subject', key: 'subject_key', businessKey: 'id', value: 'h.subject_id', at: 'h.submitted_at' })} as subject_key,
           h.status, h.score, h.status = 'late' as is_late, h.assigned_at, h.submitted_at, h.created_at as recorded_at
    from {{staging}} h`,
  checks: [
    { type: 'not_null', columns: ['tenant_key', 'learner_key', 'subject_key'] },
    { type: 'relationships', column: 'tenant_key', to: 'dim_tenant', field: 'tenant_key' },
    { type: 'relationships', column: 'learner_key', to: 'dim_learner', field: 'learner_key' },
    { type: 'relationships', column: 'subject_key', to: 'dim_subject', field: 'subject_key' },
    { type: 'unique', columns: ['submission_id'] },
    { type: 'accepted_values', column: 'status', values: ['submitted', 'graded', 'late'] },
  ],
})
