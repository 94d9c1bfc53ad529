import fs from 'node:fs/promises'
import path from 'node:path'
import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/database.js'
import { packageRoot } from '../paths.js'
import { insertAssets, insertSkills, insertSubjects } from './catalog.js'
import { insertHomework, insertRecommendations, insertSkillMastery } from './learning.js'
import { insertLearners, insertTenants, insertUsers } from './people.js'
import { planDemo, type DemoOptions, type DemoPlan } from './plan.js'
import { insertFocusEvents, insertSessions } from './sessions.js'

export type { DemoOptions, DemoScale } from './plan.js'

export interface DemoSummary {
  /** False when the source already had tenants and was left as it was. */
  created: boolean
  /** Rows per source table after the call. */
  counts: Record<string, number>
}

/** The source tables with their primary keys, parents first: the order they are filled in. */
const TABLES: ReadonlyArray<readonly [table: string, key: readonly string[]]> = [
  ['tenants', ['id']],
  ['learners', ['id']],
  ['users', ['id']],
  ['subjects', ['id']],
  ['skills', ['id']],
  ['assets', ['symbol']],
  ['sessions', ['id']],
  ['focus_events', ['id']],
  ['homework_submissions', ['id']],
  ['skill_mastery', ['learner_id', 'skill_id']],
  ['recommendations', ['id']],
]

/** One statement per table, in TABLES order; focus events are derived from the sessions. */
const STEPS: ReadonlyArray<(plan: DemoPlan) => RawBuilder<unknown>> = [
  insertTenants,
  insertLearners,
  insertUsers,
  insertSubjects,
  insertSkills,
  insertAssets,
  insertSessions,
  insertFocusEvents,
  insertHomework,
  insertSkillMastery,
  insertRecommendations,
]

/** The reference OLTP schema; read from the package root, which the bundle in dist/ finds too. */
export const sourceSchemaFile = path.join(packageRoot, 'src/demo/source-schema.sql')

/**
 * Creates the reference schema in the source if missing, and fills it when it is empty (tenants
 * has no rows), telling `onFill` first. Same seed + same today → the same rows. Everything is generated inside
 * PostgreSQL, set-based, in one transaction: a failed fill leaves the source empty.
 *
 * @example
 * const { created, counts } = await fillDemo(source, { scale: 'small', seed: 42, today: '2025-01-15', timezone: 'UTC' })
 */
export async function fillDemo(source: Database, options: DemoOptions, hooks: { onFill?: (plan: DemoPlan) => void } = {}): Promise<DemoSummary> {
  const plan = planDemo(options)
  await source.exec(await fs.readFile(sourceSchemaFile, 'utf8'))
  const created = await source.db.transaction().execute(async (trx) => {
    // the rows use seconds and explicit zones only; pinning the session zone keeps it that way
    await sql`set local timezone to 'UTC'`.execute(trx)
    // a second `etl demo` against the same server waits here, then finds the rows and leaves them
    await sql`lock table tenants in exclusive mode`.execute(trx)
    if (await hasTenants(trx)) return false
    hooks.onFill?.(plan)
    for (const step of STEPS) await step(plan).execute(trx)
    return true
  })
  // fresh statistics, or the first pipeline run plans its joins for empty tables
  if (created) await sql`analyze ${sql.join(TABLES.map(([table]) => sql.table(table)))}`.execute(source.db)
  await (await import('./dashboard.js')).fillDashboard(source, plan) // the dashboard tables the example table syncs read
  return { created, counts: await countRows(source.db) }
}

/**
 * Per source table, an md5 over its rows in primary-key order: equal checksums, equal content.
 * Rows are hashed one by one first, so even the large scale stays under PostgreSQL's 1 GB value.
 */
export async function demoChecksums(source: Database): Promise<Record<string, string>> {
  return source.db.transaction().execute(async (trx) => {
    // a row's text shows timestamps in the session's zone and style; pinned, the checksums
    // compare across servers and PGlite
    await sql`set local timezone to 'UTC'`.execute(trx)
    await sql`set local datestyle to 'ISO, YMD'`.execute(trx)
    const checksums: Record<string, string> = {}
    for (const [table, key] of TABLES) {
      const order = sql.join(key.map((column) => sql.ref(`t.${column}`)))
      const { rows } = await sql<{ checksum: string }>`
        select md5(coalesce(string_agg(md5(t::text), '' order by ${order}), '')) as checksum
        from ${sql.table(table)} t`.execute(trx)
      checksums[table] = rows[0]!.checksum
    }
    return checksums
  })
}

async function hasTenants(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select exists (select 1 from tenants) as found`.execute(db)
  return rows[0]!.found
}

async function countRows(db: Kysely<any>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const [table] of TABLES) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db)
    counts[table] = rows[0]!.n
  }
  return counts
}
