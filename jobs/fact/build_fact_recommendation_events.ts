import { defineFact } from '../../src/define.js'
import { versionAt } from '../../src/kinds/dimension/point-in-time.js'

// Recommendations made, by the day they were made, with whether and how fast they were accepted.
export default defineFact({
  kind: 'fact',
  schedule: '0 2 * * *',
  dependsOn: ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_skill'],
  source: { table: 'public.recommendations', timeColumn: 'recommended_at', recordedColumn: 'updated_at' },
  target: 'fact_recommendation_events',
  lookbackDays: 2,
  select: `
    select r.id as recommendation_id, {{date_key}} as date_key, r.tenant_id, r.learner_id,
           ${versionAt({ dimension: 'dim_tenant', key: 'tenant_key', businessKey: 'id', value: 'r.tenant_id', at: 'r.recommended_at' })} as tenant_key,
           ${versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 'r.learner_id', at: 'r.recommended_at' })} as learner_key,
           ${versionAt({ dimension: 'dim_skill', key: 'skill_key', businessKey: 'id', value: 'r.skill_id', at: 'r.recommended_at' })} as skill_key,
           r.accepted,
           round((extract(epoch from (r.accepted_at - r.recommended_at)) / 3600)::numeric, 2) as hours_to_accept,
           r.recommended_at, r.accepted_at
    from {{staging}} r`,
  checks: [
    { type: 'not_null', columns: ['tenant_key', 'learner_key', 'skill_key'] },
    { type: 'relationships', column: 'tenant_key', to: 'dim_tenant', field: 'tenant_key' },
    { type: 'relationships', column: 'learner_key', to: 'dim_learner', field: 'learner_key' },
    { type: 'relationships', column: 'skill_key', to: 'dim_skill', field: 'skill_key' },
    { type: 'unique', columns: ['recommendation_id'] },
    { type: 'expression', name: 'non_negative_wait', sql: 'hours_to_accept >= 0' },
  ],
})
