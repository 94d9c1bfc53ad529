import { defineFact } from '../../src/define.js'
import { versionAt } from '../../src/kinds/dimension/point-in-time.js'

// A daily snapshot of each learner's mastery of each skill, as the source knew it at the end of the day.
export default defineFact({
  kind: 'fact',
  schedule: '0 3 * * *',
  dependsOn: ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_skill'],
  source: { table: 'public.skill_mastery', asOfColumn: 'updated_at' },
  target: 'fact_learning_progress',
  select: `
    select {{date_key}} as date_key, m.tenant_id, m.learner_id, m.skill_id,
           ${versionAt({ dimension: 'dim_tenant', key: 'tenant_key', businessKey: 'id', value: 'm.tenant_id', at: '{{to}}' })} as tenant_key,
           ${versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 'm.learner_id', at: '{{to}}' })} as learner_key,
           ${versionAt({ dimension: 'dim_skill', key: 'skill_key', businessKey: 'id', value: 'm.skill_id', at: '{{to}}' })} as skill_key,
           m.mastery_level, m.attempts, m.updated_at as mastery_updated_at
    from {{staging}} m`,
  checks: [
    { type: 'not_null', columns: ['tenant_key', 'learner_key', 'skill_key'] },
    { type: 'relationships', column: 'tenant_key', to: 'dim_tenant', field: 'tenant_key' },
    { type: 'relationships', column: 'learner_key', to: 'dim_learner', field: 'learner_key' },
    { type: 'relationships', column: 'skill_key', to: 'dim_skill', field: 'skill_key' },
    { type: 'unique', columns: ['learner_id', 'skill_id'] },
    { type: 'expression', name: 'mastery_is_a_rate', sql: 'mastery_level between 0 and 1 and attempts >= 0' },
  ],
})
