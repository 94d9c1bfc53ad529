import fs from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration'
import { EtlError } from '../errors.js'
import { migrationsDir } from '../paths.js'
import type { Database } from './database.js'

/**
 * Reads `migrations/NNNN_name.sql`. A file holds an `-- up` part and a `-- down` part; each runs
 * as one script inside the Migrator's transaction.
 */
export class SqlFolderProvider implements MigrationProvider {
  constructor(private readonly folder: string = migrationsDir) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.folder)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const { up, down } = splitMigration(await fs.readFile(path.join(this.folder, file), 'utf8'), file)
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => void (await sql.raw(up).execute(db)),
        down: down ? async (db) => void (await sql.raw(down).execute(db)) : undefined,
      }
    }
    return migrations
  }
}

export function splitMigration(text: string, file: string): { up: string; down: string | undefined } {
  const upAt = text.search(/^--\s*up\s*$/im)
  const downAt = text.search(/^--\s*down\s*$/im)
  if (upAt < 0) throw new EtlError('CONFIG', `migration ${file} has no '-- up' line`)
  const up = downAt > upAt ? text.slice(upAt, downAt) : text.slice(upAt)
  const down = downAt > upAt ? text.slice(downAt).replace(/^--\s*down\s*$/im, '') : undefined
  return { up: up.replace(/^--\s*up\s*$/im, ''), down: down?.trim() ? down : undefined }
}

function migratorFor(database: Database, schema: string): Migrator {
  return new Migrator({ db: database.db, provider: new SqlFolderProvider(), migrationTableSchema: schema })
}

async function ensureSchema(database: Database, schema: string): Promise<void> {
  await database.exec(`create schema if not exists "${schema}"`)
}

export interface MigrationStatus {
  name: string
  executedAt: Date | undefined
}

export async function listMigrations(database: Database, schema: string): Promise<MigrationStatus[]> {
  await ensureSchema(database, schema)
  const infos = await migratorFor(database, schema).getMigrations()
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt }))
}

export async function pendingMigrations(database: Database, schema: string): Promise<string[]> {
  return (await listMigrations(database, schema)).filter((m) => !m.executedAt).map((m) => m.name)
}

function check(result: MigrationResultSet, what: string): string[] {
  const names = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName
    throw new EtlError('CONFIG', `${what} failed${failed ? ` at ${failed}` : ''}: ${(result.error as Error).message}`, {
      cause: result.error,
    })
  }
  return names
}

export async function migrateUp(database: Database, schema: string): Promise<string[]> {
  await ensureSchema(database, schema)
  return check(await migratorFor(database, schema).migrateToLatest(), 'migrate up')
}

export async function migrateDown(database: Database, schema: string): Promise<string[]> {
  await ensureSchema(database, schema)
  return check(await migratorFor(database, schema).migrateDown(), 'migrate down')
}

/**
 * What the warehouse has of the migrations in the folder, in one query and no Migrator: the
 * Migrator first asks whether its table exists by introspecting every table of the database,
 * the slowest statement of a cron tick that has nothing to do. `pending`: in the folder, not
 * applied; `unknown`: applied, but no longer in the folder (the Migrator refuses to go on then).
 */
export async function migrationState(database: Database, schema: string): Promise<{ pending: string[]; unknown: string[] }> {
  const names = (await fs.readdir(migrationsDir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).map((f) => f.replace(/\.sql$/, '')).sort()
  let applied: string[]
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.id(schema, 'kysely_migration')}`.execute(database.db)
    applied = rows.map((r) => r.name)
  } catch (error) {
    // no migration table (nor schema) yet: nothing applied
    if ((error as { code?: unknown })?.code !== '42P01') throw error
    applied = []
  }
  const done = new Set(applied)
  const known = new Set(names)
  return { pending: names.filter((n) => !done.has(n)), unknown: applied.filter((n) => !known.has(n)) }
}

/** Fails with PENDING_MIGRATIONS (exit 3) when the warehouse is behind the code. */
export async function assertMigrated(database: Database, schema: string): Promise<void> {
  const { pending } = await migrationState(database, schema)
  if (pending.length > 0) {
    throw new EtlError(
      'PENDING_MIGRATIONS',
      `the warehouse at ${database.label} has ${pending.length} pending migration(s) (${pending.join(', ')}); run 'etl migrate up' first`,
    )
  }
}

/** `migrateUp` when there is anything to do: the embedded warehouse migrates itself on every open. */
export async function migrateUpIfBehind(database: Database, schema: string): Promise<string[]> {
  const { pending, unknown } = await migrationState(database, schema)
  return pending.length > 0 || unknown.length > 0 ? migrateUp(database, schema) : []
}
