import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { packageRoot } from '../../src/paths.js'
import { ANCHOR, CITUS_PLAN, decisionOf, distributionSql, familyDecision, planMarkdown, planSql } from '../../src/storage/citus/plan.js'

const migrationsDir = path.join(packageRoot, 'migrations')

/** `create table <name>` of the up parts of the migrations (format()'d ones named by their literal), minus those dropped later. */
function tablesOfMigrations(): string[] {
  const made = new Set<string>()
  for (const file of fs.readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort()) {
    const up = fs.readFileSync(path.join(migrationsDir, file), 'utf8').split(/^--\s*down\s*$/im)[0]!
    for (const m of up.matchAll(/create table (?:if not exists )?(?!if\b)([a-z_][a-z0-9_]*)\b(?! partition of)/gi)) made.add(m[1]!)
    for (const m of up.matchAll(/format\('create table ([a-z_]+) \(%s\)/g)) made.add(m[1]!)
    for (const m of up.matchAll(/^drop table (?:if exists )?([a-z_][a-z0-9_]*);/gim)) made.delete(m[1]!)
  }
  // partitions made by the migrations follow their parent; %I are the tenant schemas' tables
  return [...made].filter((t) => !/_default$/.test(t)).sort()
}

describe('the Citus plan', () => {
  it('has a decision for every table the migrations make (the migrator’s own tables too)', () => {
    const tables = tablesOfMigrations()
    expect(tables).toContain('fact_sessions')
    expect(tables).toContain('etl_check_results')
    const planned = new Set(CITUS_PLAN.filter((d) => !d.family).map((d) => d.table))
    expect(tables.filter((t) => !planned.has(t))).toEqual([])
    expect(planned.has('kysely_migration') && planned.has('kysely_migration_lock')).toBe(true)
  })

  it('distributes facts and rollups by tenant_id in one colocation group anchored on fact_sessions', () => {
    const tenant = CITUS_PLAN.filter((d) => d.treatment === 'distributed')
    expect(tenant.map((d) => d.table).sort()).toEqual(
      ['daily_metrics', 'fact_focus_events', 'fact_homework_events', 'fact_learning_progress', 'fact_recommendation_events', 'fact_sessions', 'monthly_metrics', 'weekly_metrics'].sort(),
    )
    expect(tenant.every((d) => d.column === 'tenant_id')).toBe(true)
    expect(tenant.filter((d) => !d.colocateWith).map((d) => d.table)).toEqual([ANCHOR])
    // the anchor is distributed first, so the others can join its group; only dim_date, the
    // reference table the facts' foreign key needs, comes before it
    expect(CITUS_PLAN.find((d) => d.treatment === 'distributed')!.table).toBe(ANCHOR)
    expect(CITUS_PLAN[0]!.table).toBe('dim_date')
  })

  it('makes dimensions and their staging reference tables, keeps the ledger and the price tables local, shards tenant schemas', () => {
    expect(decisionOf('dim_learner').treatment).toBe('reference')
    expect(familyDecision('dimension staging').treatment).toBe('reference')
    expect(decisionOf('etl_job_runs').treatment).toBe('local')
    expect(decisionOf('price_bars_hourly').treatment).toBe('local')
    expect(familyDecision('synced table').treatment).toBe('local')
    expect(familyDecision('tenant series').treatment).toBe('schema')
    expect(decisionOf('some_table_of_a_job_file')).toMatchObject({ treatment: 'local' })
    for (const d of CITUS_PLAN) expect(d.why.length, d.table).toBeGreaterThan(10)
  })

  it('generates the distribution statements from the plan', () => {
    const options = { schema: 'public', shardCount: 8 }
    expect(distributionSql(decisionOf('fact_sessions'), 'public.fact_sessions', options)).toBe(
      `select create_distributed_table('"public"."fact_sessions"', 'tenant_id', shard_count => 8, colocate_with => 'none')`,
    )
    expect(distributionSql(decisionOf('daily_metrics'), 'wh.daily_metrics', { schema: 'wh', shardCount: 8 })).toBe(
      `select create_distributed_table('"wh"."daily_metrics"', 'tenant_id', colocate_with => '"wh"."fact_sessions"')`,
    )
    expect(distributionSql(decisionOf('dim_learner'), 'dim_learner', { schema: '', shardCount: 0 })).toBe(`select create_reference_table('"dim_learner"')`)
    expect(distributionSql(familyDecision('dimension staging'), 'staging.sync_dim_learner', options)).toBe(
      `select create_reference_table('"staging"."sync_dim_learner"')`,
    )
    expect(distributionSql(familyDecision('tenant series'), 'analytics_company_7.metrics_time_series', options)).toBe(
      `select citus_schema_distribute('"analytics_company_7"')`,
    )
    expect(distributionSql(decisionOf('etl_job_runs'), 'public.etl_job_runs', options)).toBeNull()
    expect(() => distributionSql(decisionOf('dim_x'), "dim_x'; drop table t; --", options)).toThrow(/not a plain SQL name/)
    const all = planSql(options)
    expect(all).toHaveLength(10)
    expect(all[0]).toBe(`select create_reference_table('"public"."dim_date"')`)
    expect(all[1]).toMatch(/fact_sessions.*shard_count => 8/)
    expect(all.at(-1)).toBe(`select create_reference_table('"public"."custom_metric_values"')`)
  })

  it('takes its shard count from ETL_CITUS_SHARD_COUNT, 8 by default, and refuses nonsense', () => {
    expect(loadConfig({}).citusShardCount).toBe(8)
    expect(loadConfig({ ETL_CITUS_SHARD_COUNT: '32' }).citusShardCount).toBe(32)
    for (const bad of ['0', 'many', '-4', '1.5', '100000']) {
      expect(() => loadConfig({ ETL_CITUS_SHARD_COUNT: bad })).toThrow(/ETL_CITUS_SHARD_COUNT must be a whole number of shards/)
    }
  })

  it('is the table docs/citus.md shows', () => {
    const page = fs.readFileSync(path.join(packageRoot, 'docs/citus.md'), 'utf8')
    const shown = page.split('<!-- citus-plan:start -->')[1]?.split('<!-- citus-plan:end -->')[0]?.trim()
    expect(shown).toBe(planMarkdown())
  })
})
