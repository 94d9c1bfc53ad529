import { defineRollup } from '../../src/define.js'

// One row per tenant and day in daily_metrics, from the day's facts (by date_key) and dim_learner.
export default defineRollup({
  kind: 'rollup',
  schedule: '30 2 * * *',
  dependsOn: ['build_fact_sessions', 'build_fact_focus_events', 'build_fact_homework_events', 'build_fact_recommendation_events'],
  aggregate: 'daily',
})
