import { defineFact } from '../../src/define.js'
import { versionAt } from '../../src/kinds/dimension/point-in-time.js'

// One row per learning session, keyed to the tenant, learner and subject versions valid when it started.
export default defineFact({
  kind: 'fact',
  schedule: '0 2 * * *',
  dependsOn: ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_subject'],
  source: { table: 'public.sessions', timeColumn: 'started_at', recordedColumn: 'created_at' },
  target: 'fact_sessions',
  lookbackDays: 2,
  select: `
    select s.id as session_id, {{date_key}} as date_key, s.tenant_id, s.learner_id,
           ${versionAt({ dimension: 'dim_tenant', key: 'tenant_key', businessKey: 'id', value: 's.tenant_id', at: 's.started_at' })} as tenant_key,
           ${versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 's.learner_id', at: 's.started_at' })} as learner_key,
           ${versionAt({ dimension: 'dim_subject', key: 'subject_key', businessKey: 'id', value: 's.subject_id', at: 's.started_at' })} as subject_key,
           s.duration_seconds, s.activities_completed, s.correct_responses, s.total_responses,
           s.started_at, s.ended_at, s.created_at as recorded_at
    from {{staging}} s`,
  checks: [
    { type: 'not_null', columns: ['tenant_key', 'learner_key', 'subject_key'] },
    { type: 'relationships', column: 'tenant_key', to: 'dim_tenant', field: 'tenant_key' },
    { type: 'relationships', column: 'learner_key', to: 'dim_learner', field: 'learner_key' },
    { type: 'relationships', column: 'subject_key', to: 'dim_subject', field: 'subject_key' },
    { type: 'unique', columns: ['session_id'] },
    { type: 'expression', name: 'non_negative_duration', sql: 'duration_seconds >= 0 and ended_at >= started_at' },
    { type: 'expression', name: 'correct_within_total', sql: 'correct_responses between 0 and total_responses' },
  ],
})
