import { defineFact } from '../../src/define.js'
import { versionAt } from '../../src/kinds/dimension/point-in-time.js'

// Focus, blur, idle and resume events inside sessions, by the day they occurred.
export default defineFact({
  kind: 'fact',
  schedule: '0 2 * * *',
  dependsOn: ['sync_dim_tenant', 'sync_dim_learner'],
  source: { table: 'public.focus_events', timeColumn: 'occurred_at', recordedColumn: 'created_at' },
  target: 'fact_focus_events',
  lookbackDays: 2,
  select: `
    select e.id as event_id, {{date_key}} as date_key, e.session_id, e.tenant_id, e.learner_id,
           ${versionAt({ dimension: 'dim_tenant', key: 'tenant_key', businessKey: 'id', value: 'e.tenant_id', at: 'e.occurred_at' })} as tenant_key,
           ${versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 'e.learner_id', at: 'e.occurred_at' })} as learner_key,
           e.event_type, e.focus_score, e.occurred_at, e.created_at as recorded_at
    from {{staging}} e`,
  checks: [
    { type: 'not_null', columns: ['tenant_key', 'learner_key'] },
    { type: 'relationships', column: 'tenant_key', to: 'dim_tenant', field: 'tenant_key' },
    { type: 'relationships', column: 'learner_key', to: 'dim_learner', field: 'learner_key' },
    { type: 'unique', columns: ['event_id'] },
    { type: 'accepted_values', column: 'event_type', values: ['focus', 'blur', 'idle', 'resume'] },
    { type: 'expression', name: 'focus_score_in_range', sql: 'focus_score between 0 and 100' },
  ],
})
