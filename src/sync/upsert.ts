import { CompiledQuery, type Kysely } from 'kysely'
import type { SourceColumn } from '../io/describe.js'
import { ident } from '../io/identifiers.js'

/** Types without an equality operator: compared as text to tell whether a row changed. */
const NO_EQUALITY = /^(json|xml|point|line|lseg|box|path|polygon|circle)\b/

/**
 * One set-based `INSERT … SELECT … ON CONFLICT (primary key) DO UPDATE` from staging into the
 * target. A key staged twice keeps its newest row; a row equal to the target's is not rewritten,
 * so reading a lookback window again costs reads, not writes.
 *
 * @example
 * await upsertFromStaging(trx, { target: 'orders', staging: '"staging"."sync_orders"', columns, primaryKey: ['id'], newestFirst: 'updated_at' })
 */
export async function upsertFromStaging(
  db: Kysely<any>,
  options: {
    target: string
    staging: string
    columns: readonly SourceColumn[]
    primaryKey: readonly string[]
    newestFirst: string
    /** The target was just created or truncated: every row is an insert. */
    targetEmpty?: boolean
    /** A plain table (not partitioned, not a hypertable): RETURNING can tell inserts from updates. */
    plain?: boolean
  },
): Promise<{ inserted: number; updated: number }> {
  const { target, staging, columns, primaryKey, newestFirst } = options
  const t = ident(target)
  const cols = columns.map((c) => ident(c.name))
  const pk = primaryKey.map(ident)
  const rest = columns.filter((c) => !primaryKey.includes(c.name))
  const value = (alias: string, c: SourceColumn) => `${alias}.${ident(c.name)}${NO_EQUALITY.test(c.type) ? '::text' : ''}`
  const onConflict = rest.length
    ? `do update set ${rest.map((c) => `${ident(c.name)} = excluded.${ident(c.name)}`).join(', ')}
       where (${rest.map((c) => value(t, c)).join(', ')}, null) is distinct from (${rest.map((c) => value('excluded', c)).join(', ')}, null)`
    : 'do nothing'
  const distinctStaged = `select distinct on (${pk.map((k) => `s.${k}`).join(', ')}) ${cols.map((c) => `s.${c}`).join(', ')}
      from ${staging} s
      order by ${pk.map((k) => `s.${k}`).join(', ')}, s.${ident(newestFirst)} desc`
  const upsert = `insert into ${t} (${cols.join(', ')}) ${distinctStaged} on conflict (${pk.join(', ')}) ${onConflict}`
  if (options.plain) {
    // xmax is 0 on a freshly inserted row version: one statement both writes and counts
    const { rows } = await db.executeQuery<{ inserted: number; updated: number }>(
      CompiledQuery.raw(
        `with written as (${upsert} returning (xmax = 0) as is_insert)
         select (count(*) filter (where is_insert))::int as inserted, (count(*) filter (where not is_insert))::int as updated from written`,
      ),
    )
    return rows[0]!
  }
  // RETURNING xmax cannot tell inserts from updates on a partitioned table (PostgreSQL 18
  // refuses it), so the keys that exist already are counted first, through the primary key
  const keys = pk.map((k) => `s.${k}`).join(', ')
  const exists = options.targetEmpty ? 'false' : `exists (select 1 from ${t} t where ${pk.map((k) => `t.${k} = s.${k}`).join(' and ')})`
  const { rows: counted } = await db.executeQuery<{ staged: number; existing: number }>(
    CompiledQuery.raw(
      `select count(*)::int as staged, (count(*) filter (where ${exists}))::int as existing
       from (select distinct ${keys} from ${staging} s) s`,
    ),
  )
  const result = await db.executeQuery(CompiledQuery.raw(upsert))
  const written = Number(result.numAffectedRows ?? 0)
  const inserted = counted[0]!.staged - counted[0]!.existing
  return { inserted, updated: written - inserted }
}
