import { defineRollup } from '../../src/define.js'

// One row per tenant and day in daily_metrics, from the day's facts (by date_key) and dim_learner.
export default defineRollup({
  kind: 'rollup',
  schedule: '30 2 * * *',
  dependsOn: ['build_fact_sessions', 'build_fact_focus_events', 'build_fact_homework_events', 'build_fact_recommendation_events'],
  aggregate: 'daily',
  checks: [
    { type: 'unique', columns: ['tenant_id'] },
    { type: 'expression', name: 'rates_within_0_1', sql: 'correct_rate between 0 and 1 and recommendation_accept_rate between 0 and 1' },
    { type: 'expression', name: 'non_negative_counts', sql: 'sessions >= 0 and session_minutes >= 0 and active_learners >= 0' },
  ],
})
