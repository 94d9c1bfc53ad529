import { sql, type Kysely } from 'kysely'
import type { Session } from '../../db/database.js'
import type { SourceColumn } from '../../io/describe.js'
import { fitColumns } from '../../io/fit-table.js'
import { ident, literal } from '../../io/identifiers.js'
import type { Logger } from '../../log.js'
import { type TableSyncDefinition } from './definition.js'
import { parseGrain } from '../../storage/grain.js'
import { hasTimescale } from '../../storage/partitions.js'
import { distributeNewTable } from '../../storage/citus/apply.js'

export type Storage = 'plain' | 'native' | 'timescaledb'

export interface TargetState {
  /** Created by this run: it holds no rows yet. */
  readonly created: boolean
  readonly storage: Storage
}

/**
 * Makes the target fit the source: created from the source's column types when missing (with the
 * primary key, and as a hypertable or a range-partitioned table when the job has a
 * timePartition), a source column added since is added, a dropped or retyped one is an error
 * that names it, never a silent loss.
 *
 * `ddl` runs the DDL: a connection of its own on a server, committed at once, so the run's
 * transaction takes no lock on the target before it writes; the run's session on PGlite.
 */
export async function prepareTarget(options: {
  db: Kysely<any>
  ddl: Pick<Session, 'exec'>
  def: TableSyncDefinition
  columns: readonly SourceColumn[]
  log: Logger
}): Promise<TargetState> {
  const { db, ddl, def, columns, log } = options
  const target = ident(def.target)
  const { rows: found } = await sql<{ kind: string }>`
    select relkind::text as kind from pg_class where oid = to_regclass(${def.target})`.execute(db)
  const part = def.timePartition
  if (found.length === 0) {
    const timescale = part ? await hasTimescale(db) : false
    const storage: Storage = !part ? 'plain' : timescale ? 'timescaledb' : 'native'
    await ddl.exec(
      `create table if not exists ${target} (
        ${columns.map((c) => `${ident(c.name)} ${c.type}${def.primaryKey.includes(c.name) ? ' not null' : ''}`).join(',\n        ')},
        primary key (${def.primaryKey.map(ident).join(', ')})
      )${storage === 'native' ? ` partition by range (${ident(part!.column)})` : ''}`,
    )
    if (storage === 'timescaledb') {
      // no add_retention_policy: the `retention` job drops the chunks, counted in its ledger row
      // and on the run's clock; a background policy would drop them first, uncounted
      await ddl.exec(
        `select create_hypertable(${literal(def.target)}, ${literal(part!.column)}, chunk_time_interval => ${literal(parseGrain(part!.chunk).sql)}::interval, if_not_exists => true)`,
      )
    }
    // its Citus treatment in src/storage/citus/plan.ts (local on the coordinator: a no-op today)
    await distributeNewTable(db, def.target, 'synced table')
    log.info({ target: def.target, storage }, `created ${def.target} from the source's columns`)
    return { created: true, storage }
  }

  const partitioned = found[0]!.kind === 'p'
  const hyper = part && !partitioned ? await isHypertable(db, def.target) : false
  if (part && !partitioned && !hyper) {
    throw new Error(
      `${def.target} exists but is not partitioned by ${part.column}, as timePartition asks; rename or drop it and let the sync create it`,
    )
  }
  await fitColumns({
    db,
    ddl,
    table: def.target,
    columns,
    log,
    fix: {
      dropped: `restore it in the source (or select it in a source query), or drop it from ${def.target} if its data may go`,
      retyped: `alter ${def.target} to match, then run again`,
    },
  })
  return { created: false, storage: partitioned ? 'native' : hyper ? 'timescaledb' : 'plain' }
}

/** Whether `table` (a name as the search path finds it) is a TimescaleDB hypertable. */
export async function isHypertable(db: Kysely<any>, table: string): Promise<boolean> {
  if (!(await hasTimescale(db))) return false
  const { rows } = await sql<{ found: boolean }>`
    select exists (
      select 1 from timescaledb_information.hypertables h
      where format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass = ${table}::regclass) as found`.execute(db)
  return rows[0]!.found
}
