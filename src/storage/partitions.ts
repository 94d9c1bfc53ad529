import { sql, type Kysely } from 'kysely'
import type { SourceColumn } from '../io/describe.js'
import { ident } from '../io/identifiers.js'
import type { DdlRunner, StorageBackend, StorageMode } from './backend.js'
import { chunksBetween, parseGrain } from './grain.js'
import { native } from './native.js'
import { policyOf } from './policy.js'
import { timescale } from './timescale.js'

export { columnType, countRows, cutoffOf, ddlRunnerOf, hasTimescale, type DdlRunner, type Dropped, type StorageBackend, type StorageMode } from './backend.js'
export { chunkOf, chunksBetween, partitionName, parseGrain, type Chunk, type Grain } from './grain.js'

export function backendOf(mode: StorageMode): StorageBackend {
  return mode === 'timescaledb' ? timescale : native
}

/**
 * Makes the partitions a table's rows on `days` (YYYY-MM-DD, UTC; a date_key's day) need, by the
 * one rule (src/storage/grain.ts), and returns the names made. `grain` defaults to the table's
 * policy. A hypertable or a plain table gets none (TimescaleDB makes its chunks on insert).
 *
 * `runner`: `ddlRunnerOf(ctx)`, outside the run's transaction on a server.
 *
 * @example await ensurePartitions(runner, 'fact_sessions', ['2025-03-19'])
 */
export async function ensurePartitions(runner: DdlRunner, table: string, days: readonly string[], grain?: string): Promise<string[]> {
  const g = grain ?? (await policyOf(runner.db, table))?.grain
  if (!g) throw new Error(`${table} has no storage policy (etl_storage_policies) and no grain was given`)
  return native.ensure(runner, table, g, days)
}

/** Every chunk of `[first, last]`: the price loads' months. */
export async function ensurePartitionsBetween(runner: DdlRunner, table: string, first: string, last: string, grain?: string): Promise<string[]> {
  const g = grain ?? (await policyOf(runner.db, table))?.grain
  if (!g) throw new Error(`${table} has no storage policy (etl_storage_policies) and no grain was given`)
  return native.ensure(runner, table, g, chunksBetween(first, last, parseGrain(g)).map((c) => c.from))
}

/**
 * The UTC days (YYYY-MM-DD) a date or timestamp column's values fall on in `from` (a relation
 * or subquery aliased `q`), whatever the session's time zone: the chunks the rows need.
 */
export async function distinctDays(db: Kysely<any>, from: string, column: SourceColumn): Promise<string[]> {
  const value = `q.${ident(column.name)}`
  const day = column.type === 'date' ? value : column.type.startsWith('timestamp with time zone') ? `(${value} at time zone 'UTC')::date` : `${value}::date`
  const { rows } = await sql<{ day: string }>`
    select distinct ${sql.raw(day)}::text as day from ${sql.raw(from)} where ${sql.raw(value)} is not null`.execute(db)
  return rows.map((r) => r.day)
}
