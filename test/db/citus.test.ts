import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { migrateDown, migrateUp } from '../../src/db/migrate.js'
import { applyCitusPlan, citusRole, distributeNewTable } from '../../src/storage/citus/apply.js'
import { CITUS_PLAN } from '../../src/storage/citus/plan.js'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { etlPty } from '../helpers/pty.js'

/*
 * Citus is not installable here: these tests prove what holds off Citus (the plan covers the
 * migrated warehouse, the new fact keys, nothing is changed and `etl citus plan` says why).
 */

let tw: TestWarehouse
let db: Database

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

const FACT_KEYS = {
  fact_sessions: 'PRIMARY KEY (date_key, tenant_id, session_id)',
  fact_focus_events: 'PRIMARY KEY (date_key, tenant_id, event_id)',
  fact_homework_events: 'PRIMARY KEY (date_key, tenant_id, submission_id)',
  fact_recommendation_events: 'PRIMARY KEY (date_key, tenant_id, recommendation_id)',
  fact_learning_progress: 'PRIMARY KEY (date_key, tenant_id, learner_id, skill_id)',
}

async function factKeys(): Promise<Record<string, string>> {
  const { rows } = await sql<{ name: string; key: string }>`
    select c.conrelid::regclass::text as name, pg_get_constraintdef(c.oid) as key from pg_constraint c
    where c.contype = 'p' and c.conrelid::regclass::text like 'fact\\_%' and c.conparentid = 0 order by 1`.execute(db.db)
  return Object.fromEntries(rows.map((r) => [r.name, r.key]))
}

describe('the Citus plan off Citus', () => {
  it('names every table a migrated warehouse has (no table is left to the default)', async () => {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition order by 1`.execute(db.db)
    const planned = new Set(CITUS_PLAN.filter((d) => !d.family).map((d) => d.table))
    expect(rows.length).toBeGreaterThan(15)
    expect(rows.map((r) => r.name).filter((t) => !planned.has(t))).toEqual([])
  })

  it('keys every fact table by (date_key, tenant_id, id), and migration 0013 rolls back to the old keys', async () => {
    expect(await factKeys()).toEqual(FACT_KEYS)
    await db.exec(`create table fact_sessions_p20250101 partition of fact_sessions for values from (20250101) to (20250102)`)
    const down = await migrateDown(db, tw.config.warehouseSchema)
    expect(down).toEqual(['0013_fact_tenant_keys'])
    expect((await factKeys()).fact_sessions).toBe('PRIMARY KEY (date_key, session_id)')
    expect(await migrateUp(db, tw.config.warehouseSchema)).toEqual(['0013_fact_tenant_keys'])
    expect(await factKeys()).toEqual(FACT_KEYS)
    // the partition's key followed its parent's
    const { rows } = await sql<{ key: string }>`
      select pg_get_constraintdef(oid) as key from pg_constraint where conrelid = 'fact_sessions_p20250101'::regclass and contype = 'p'`.execute(db.db)
    expect(rows[0]?.key).toBe(FACT_KEYS.fact_sessions)
    await db.exec('drop table fact_sessions_p20250101')
  })

  it('changes nothing: no coordinator, no statement', async () => {
    expect(await citusRole(db.db)).toBe('none')
    expect(await applyCitusPlan(db.db, tw.config.warehouseSchema, 8)).toBeNull()
    await db.exec('create table dim_probe (id int)')
    expect(await distributeNewTable(db.db, 'dim_probe', 'dimension')).toBeNull()
    await db.exec('drop table dim_probe')
  })
})

describe('etl citus plan', () => {
  it('prints the plan with "not a Citus coordinator" under a terminal, and exits 0', async () => {
    await db.close()
    try {
      const result = await etlPty(['citus', 'plan'], tw.env)
      expect(result.code, result.text).toBe(0)
      expect(result.text).toMatch(/table\s+treatment\s+column\s+colocation\s+now/)
      expect(result.text).toMatch(/fact_sessions\s+distributed\s+tenant_id\s+anchor, 8 shards\s+local/)
      expect(result.text).toMatch(/daily_metrics\s+distributed\s+tenant_id\s+with fact_sessions/)
      expect(result.text).toMatch(/etl_job_runs\s+local/)
      expect(result.text).toMatch(/analytics_company_<id>\.metrics_time_series\s+schema/)
      expect(result.lines.at(-1)).toMatch(/^not a Citus coordinator \(no citus extension\)/)

      const json = await etl(['citus', 'plan', '--json'], { ...tw.env, ETL_CITUS_SHARD_COUNT: '4' })
      expect(json.code, json.stderr).toBe(0)
      const plan = JSON.parse(json.stdout)
      expect(plan).toMatchObject({ coordinator: false, role: 'none', shardCount: 4 })
      expect(plan.tables.find((t: { table: string }) => t.table === 'weekly_metrics')).toMatchObject({ treatment: 'distributed', column: 'tenant_id', now: 'local', statement: null })

      const statements = await etl(['citus', 'plan', '--sql'], tw.env)
      expect(statements.stdout.trim()).toMatch(/^-- not a Citus coordinator/)
    } finally {
      db = await tw.open()
    }
  })

  it('changes nothing, not even the pending migrations, and says they are pending', async () => {
    const fresh = await createTestWarehouse({ migrate: false })
    try {
      const result = await etl(['citus', 'plan'], fresh.env)
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/^fact_sessions\s+distributed\s+tenant_id\s+anchor, 8 shards\s+missing$/m)
      expect(result.stdout).toMatch(/^\d+ pending migration\(s\): the tables they make show as missing/m)
      const json = JSON.parse((await etl(['citus', 'plan', '--json'], fresh.env)).stdout)
      expect(json.pendingMigrations).toContain('0013_fact_tenant_keys')
      // still nothing applied
      expect(JSON.parse((await etl(['citus', 'plan', '--json'], fresh.env)).stdout).pendingMigrations).toContain('0001_etl_job_runs')
    } finally {
      await fresh.drop()
    }
  })

  it('refuses an unknown action or --json with --sql: one line, exit 2', async () => {
    for (const [args, message] of [
      [['citus', 'sideways'], /unknown citus action 'sideways'; use 'etl citus plan'/],
      [['citus', 'plan', '--json', '--sql'], /--json or --sql, not both/],
    ] as const) {
      const result = await etl([...args], tw.env)
      expect(result.code, result.stderr).toBe(2)
      expect(errorLines(result.stderr)).toHaveLength(1)
      expect(errorLines(result.stderr)[0]).toMatch(message)
    }
  })

  it('refuses a shard count that is not a whole number: exit 3', async () => {
    const result = await etl(['citus', 'plan'], { ...tw.env, ETL_CITUS_SHARD_COUNT: 'lots' })
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)[0]).toMatch(/ETL_CITUS_SHARD_COUNT must be a whole number of shards/)
  })
})
