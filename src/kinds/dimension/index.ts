import { CompiledQuery, sql } from 'kysely'
import { z } from 'zod'
import type { JobContext, JobResult } from '../../engine/job.js'
import { describeSource, type SourceColumn } from '../../io/describe.js'
import { fitColumns } from '../../io/fit-table.js'
import { ident, IDENTIFIER, QUALIFIED, qualified, stagingSchema } from '../../io/identifiers.js'
import { dropStaging, loadStaging } from '../../io/staging.js'
import { citusRole, distributeNewTable } from '../../storage/citus/apply.js'
import { defineKind } from '../kind.js'
import { WRITTEN_BY_THIS_TRANSACTION } from '../../engine/checks/scope.js'

const column = z.string().regex(IDENTIFIER, 'must be a lower-case column name')

export const DimensionSchema = z.looseObject({
  source: z.union([
    z.strictObject({ table: z.string().regex(QUALIFIED, "must be a table name such as 'public.customers'") }),
    z.strictObject({ query: z.string().min(1).refine((q) => !q.includes(';'), 'must be one SELECT without ;') }),
  ]),
  businessKey: z.array(column).min(1),
  strategy: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('timestamp'), updatedAt: column }),
    z.strictObject({ type: z.literal('check'), columns: z.union([z.literal('all'), z.array(column).min(1)]) }),
  ]),
  target: z.string().regex(IDENTIFIER, "must be a table name such as 'dim_customer'"),
  hardDeletes: z.enum(['invalidate', 'ignore', 'new_record']).default('invalidate').optional(),
  /** Surrogate key column; default `<entity>_key`, the entity being the target without `dim_`. */
  surrogateKey: column.optional(),
})

export type DimensionDefinition = z.infer<typeof DimensionSchema>

/** Columns nightshift adds to every dimension; a source may not bring its own. */
const META = ['row_hash', 'is_deleted', 'effective_from', 'effective_to', 'is_current'] as const

export function surrogateKeyOf(def: Pick<DimensionDefinition, 'target' | 'surrogateKey'>): string {
  return def.surrogateKey ?? `${def.target.replace(/^dim_/, '')}_key`
}

/**
 * SCD Type 2 (dbt snapshot semantics). The source lands in a staging table; then three
 * set-based statements inside the run's transaction:
 *  1. close the current version of every key whose row changed (or that comes back after a
 *     tombstone), at the change's instant;
 *  2. insert a current version for every staged key that has none (new, changed, restored);
 *  3. close the versions of keys gone from the source ('invalidate'), and add a tombstone
 *     version ('new_record'); 'ignore' leaves them.
 * Timestamp strategy: a change is a newer `updatedAt`, valid from it; an older one (out of
 * order) is ignored. Check strategy: a change is a different hash of the checked columns, valid
 * from the run's time. Unchanged rows are not written at all.
 */
export async function syncDimension(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as DimensionDefinition
  const source = await ctx.source()
  const columns = await describeSource(source, def.source)
  const names = columns.map((c) => c.name)
  checkColumns(def, names)

  const staging = `${stagingSchema(ctx.config.warehouseSchema)}.${ctx.job.name}`
  const query = 'table' in def.source ? `select ${names.map(ident).join(', ')} from ${qualified(def.source.table)}` : def.source.query
  // on Citus the statements below also run on the workers' copies of the reference tables:
  // the zone must reach them too (Citus passes SET LOCAL on only when told to)
  if ((await citusRole(ctx.db)) === 'coordinator') await sql`set local citus.propagate_set_commands to 'local'`.execute(ctx.db)
  // hashes render timestamps as text: one zone for every run, whatever the server's default
  await sql`set local timezone to 'UTC'`.execute(ctx.db)
  // on Citus staging is a reference table, as the dimension is: Citus updates a reference table
  // from reference tables only
  const prepare = (table: string) => distributeNewTable(ctx.db, table, 'dimension staging')
  const staged = await loadStaging({ source, query, columns, warehouse: ctx.session, table: staging, prepare })
  await ensureTarget(ctx, def, columns)

  const now = ctx.now
  const target = ident(def.target)
  const bk = def.businessKey.map(ident)
  const sameKey = (a: string, b: string) => bk.map((k) => `${a}.${k} = ${b}.${k}`).join(' and ')
  const hashed =
    def.strategy.type === 'check' && def.strategy.columns !== 'all' ? def.strategy.columns.map(ident) : names.map(ident)
  const latestFirst = def.strategy.type === 'timestamp' ? `, ${ident(def.strategy.updatedAt)} desc` : ''
  // one row per key even if the source repeats one; the hash of the row as it would be stored
  const stagedRows = `(select distinct on (${bk.join(', ')}) s.*, md5(row(${hashed.map((c) => `s.${c}`).join(', ')})::text) as row_hash
     from ${qualified(staging)} s where ${bk.map((k) => `s.${k} is not null`).join(' and ')}
     order by ${bk.join(', ')}${latestFirst})`
  const changedAt =
    def.strategy.type === 'timestamp' ? `greatest(s.${ident(def.strategy.updatedAt)}, d.effective_from)` : '$1::timestamptz'
  const changed =
    def.strategy.type === 'timestamp'
      ? `(s.${ident(def.strategy.updatedAt)} > d.${ident(def.strategy.updatedAt)} or d.is_deleted)`
      : '(s.row_hash <> d.row_hash or d.is_deleted)'

  const closed = await run(
    ctx,
    `update ${target} d set effective_to = ${changedAt}, is_current = false
     from ${stagedRows} s
     where d.is_current and ${sameKey('d', 's')} and ${changed}`,
    def.strategy.type === 'check' ? [now] : [],
  )

  // Joins, not correlated subqueries: Citus refuses a correlated subquery over a reference
  // table when the FROM clause holds a subquery (docs/citus.md). `h`: when each staged key's
  // last version closed (greatest() skips its null for a new key); `c`: a current version,
  // whose absence (anti-join) is what makes a staged key need one.
  const closedAt =
    def.strategy.type === 'timestamp'
      ? `left join (select ${bk.map((k) => `h.${k}`).join(', ')}, max(h.effective_to) as closed_at
           from ${target} h where not h.is_current and (${bk.map((k) => `h.${k}`).join(', ')}) in (select ${bk.join(', ')} from ${qualified(staging)})
           group by ${bk.map((k) => `h.${k}`).join(', ')}) h on ${sameKey('h', 's')}`
      : ''
  const validFrom = def.strategy.type === 'timestamp' ? `greatest(s.${ident(def.strategy.updatedAt)}, h.closed_at)` : '$1::timestamptz'
  const key = ident(surrogateKeyOf(def))
  const inserted = await run(
    ctx,
    `insert into ${target} (${names.map(ident).join(', ')}, row_hash, is_deleted, effective_from, effective_to, is_current)
     select ${names.map((c) => `s.${ident(c)}`).join(', ')}, s.row_hash, false, ${validFrom}, null, true
     from ${stagedRows} s
     left join ${target} c on c.is_current and ${sameKey('c', 's')}
     ${closedAt}
     where c.${key} is null`,
    def.strategy.type === 'check' ? [now] : [],
  )

  let deleted = 0
  let tombstones = 0
  const hardDeletes = def.hardDeletes ?? 'invalidate'
  if (hardDeletes !== 'ignore') {
    const gone = `d.is_current and not d.is_deleted and not exists (select 1 from ${qualified(staging)} s where ${sameKey('s', 'd')})`
    if (hardDeletes === 'invalidate') {
      deleted = await run(ctx, `update ${target} d set effective_to = $1::timestamptz, is_current = false where ${gone}`, [now])
    } else {
      const cols = names.map(ident).join(', ')
      const [counts] = await rows<{ closed: number; added: number }>(
        ctx,
        `with closed as (
           update ${target} d set effective_to = $1::timestamptz, is_current = false where ${gone}
           returning ${names.map((c) => `d.${ident(c)}`).join(', ')}, d.row_hash
         ), added as (
           insert into ${target} (${cols}, row_hash, is_deleted, effective_from, effective_to, is_current)
           select ${cols}, row_hash, true, $1::timestamptz, null, true from closed
           returning 1
         )
         select (select count(*) from closed)::int as closed, (select count(*) from added)::int as added`,
        [now],
      )
      deleted = counts?.closed ?? 0
      tombstones = counts?.added ?? 0
    }
  }
  await dropStaging(ctx.session, staging)
  return { rowsProcessed: staged, rowsInserted: inserted + tombstones, rowsUpdated: closed, rowsDeleted: deleted }
}

/** Runs one generated statement with positional parameters on the run's transaction; returns rows affected. */
async function run(ctx: JobContext, text: string, parameters: unknown[]): Promise<number> {
  const result = await ctx.db.executeQuery(CompiledQuery.raw(text, parameters))
  return Number(result.numAffectedRows ?? 0)
}

async function rows<R>(ctx: JobContext, text: string, parameters: unknown[]): Promise<R[]> {
  return (await ctx.db.executeQuery<R>(CompiledQuery.raw(text, parameters))).rows
}

function checkColumns(def: DimensionDefinition, names: string[]): void {
  const wanted = [...def.businessKey]
  if (def.strategy.type === 'timestamp') wanted.push(def.strategy.updatedAt)
  if (def.strategy.type === 'check' && def.strategy.columns !== 'all') wanted.push(...def.strategy.columns)
  const missing = wanted.filter((c) => !names.includes(c))
  if (missing.length) throw new Error(`the source has no column ${missing.join(', ')} (it has ${names.join(', ')})`)
  const clash = names.filter((c) => (META as readonly string[]).includes(c) || c === surrogateKeyOf(def))
  if (clash.length) throw new Error(`the source has columns the dimension adds itself: ${clash.join(', ')}; rename them in a source query`)
}

/**
 * Creates the dimension on first run from the source's columns, and adds columns the source
 * gained since. A dropped or retyped source column is an error, not a silent loss.
 */
async function ensureTarget(ctx: JobContext, def: DimensionDefinition, columns: readonly SourceColumn[]): Promise<void> {
  const target = ident(def.target)
  const key = ident(surrogateKeyOf(def))
  const bk = def.businessKey.map(ident).join(', ')
  await ctx.session.exec(`
    create table if not exists ${target} (
      ${key} bigint generated always as identity primary key,
      ${columns.map((c) => `${ident(c.name)} ${c.type}`).join(',\n      ')},
      row_hash text not null,
      is_deleted boolean not null default false,
      effective_from timestamptz not null,
      effective_to timestamptz,
      is_current boolean not null default true
    );
    create unique index if not exists ${ident(`${def.target}_current`)} on ${target} (${bk}) where is_current;
    create index if not exists ${ident(`${def.target}_history`)} on ${target} (${bk}, effective_from);`)
  // a reference table on Citus (src/storage/citus/plan.ts); nothing elsewhere
  await distributeNewTable(ctx.db, def.target, 'dimension')
  // a column the source dropped stays: the dimension's history keeps its values
  await fitColumns({ db: ctx.db, ddl: ctx.session, table: def.target, columns, log: ctx.log, fix: { retyped: 'migrate the dimension first' } })
}

export const dimension = defineKind({
  schema: DimensionSchema,
  defaultPartition: 'none',
  inPipeline: true,
  execute: syncDimension,
  targets: (job) => [(job.definition as unknown as DimensionDefinition).target],
  columnNotes: (job) => ({
    ...Object.fromEntries((job.definition as unknown as DimensionDefinition).businessKey.map((k) => [k, 'business key: the source row\'s key'])),
    [surrogateKeyOf(job.definition as unknown as DimensionDefinition)]: 'surrogate key of this version: what the facts\' *_key columns hold',
    row_hash: 'md5 of the source row as stored: the check strategy compares it',
    is_deleted: 'a tombstone version: the row is gone from the source (hardDeletes: new_record)',
    effective_from: 'the version is valid from this instant (the row\'s updated_at with the timestamp strategy)',
    effective_to: 'valid until this instant, exclusive; null while current',
    is_current: 'the version valid now',
  }),
  // the current versions this run inserted (all current ones for `etl test`); freshness reads the source
  checkScope: ({ job, runId, source }) => {
    const def = job.definition as unknown as DimensionDefinition
    return {
      table: def.target,
      where: runId ? `is_current and ${WRITTEN_BY_THIS_TRANSACTION}` : 'is_current',
      key: def.businessKey,
      source: source && { db: async () => (await source()).db, relation: 'table' in def.source ? qualified(def.source.table) : `(${def.source.query}) q` },
    }
  },
})
