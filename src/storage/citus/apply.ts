import { sql, type Kysely } from 'kysely'
import { EtlError } from '../../errors.js'
import { IDENTIFIER, literal, qualified } from '../../io/identifiers.js'
import { CITUS_PLAN, decisionOf, distributionSql, familyDecision, type Decision, type Family, type Treatment } from './plan.js'

/** What the warehouse is, for Citus: no extension, a worker (or a node outside the metadata), or the coordinator. */
export type CitusRole = 'none' | 'worker' | 'coordinator'

/**
 * One catalog read off Citus (is the extension there?), a second on it (`citus_is_coordinator()`,
 * Citus 11+). Cached per kysely instance, so a run that creates several tables asks once.
 */
const roles = new WeakMap<object, Promise<CitusRole>>()
export function citusRole(db: Kysely<any>): Promise<CitusRole> {
  let role = roles.get(db)
  if (!role) {
    role = (async () => {
      const { rows } = await sql<{ citus: boolean }>`select exists (select 1 from pg_extension where extname = 'citus') as citus`.execute(db)
      if (!rows[0]?.citus) return 'none'
      const coordinator = await sql<{ yes: boolean }>`select citus_is_coordinator() as yes`.execute(db)
      return coordinator.rows[0]?.yes ? 'coordinator' : 'worker'
    })()
    roles.set(db, role)
    role.catch(() => roles.delete(db))
  }
  return role
}

/** How a table is on the cluster now: its Citus type (or `local`, or missing), column and colocation group. */
export interface TableState {
  readonly table: string
  readonly now: Treatment | 'missing'
  readonly column: string | null
  readonly colocationId: number | null
}

/** The tables of `schema` (partitions left out: they follow their parent) and the tenant series schemas, as they are. */
export async function citusState(db: Kysely<any>, schema: string, role: CitusRole): Promise<Map<string, TableState>> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p') and not c.relispartition
    order by 1`.execute(db)
  const state = new Map<string, TableState>(rows.map((r) => [r.name, { table: r.name, now: 'local', column: null, colocationId: null }]))
  if (role !== 'coordinator') return state
  const dist = await sql<{ name: string; method: string; model: string; column: string | null; colocation: number }>`
    select c.relname as name, p.partmethod as method, p.repmodel as model,
           case when p.partkey is not null then column_to_column_name(p.logicalrelid, p.partkey) end as column, p.colocationid as colocation
    from pg_dist_partition p join pg_class c on c.oid = p.logicalrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema}`.execute(db)
  for (const d of dist.rows) {
    if (!state.has(d.name)) continue
    // 'h' hash-distributed; 'n' with the 't' (two-phase) replication model a reference table,
    // with 's' a Citus-managed local table (colocation 0) or a single-shard one (a distributed schema's)
    const now: Treatment = d.method === 'h' ? 'distributed' : d.model === 't' ? 'reference' : d.colocation === 0 ? 'local' : 'schema'
    state.set(d.name, { table: d.name, now, column: d.column, colocationId: d.colocation })
  }
  return state
}

/** The tenant schemas (`analytics_company_<id>`) and whether Citus distributes each. */
export async function tenantSchemas(db: Kysely<any>, role: CitusRole): Promise<Array<{ schema: string; distributed: boolean }>> {
  const distributed = role === 'coordinator' ? sql`exists (select 1 from pg_dist_schema d where d.schemaid = n.oid)` : sql`false`
  const { rows } = await sql<{ schema: string; distributed: boolean }>`
    select n.nspname as schema, ${distributed} as distributed from pg_namespace n
    where n.nspname ~ '^analytics_company_[0-9]+$' order by 1`.execute(db)
  return rows
}

/**
 * Whether the coordinator is a node of Citus's metadata (group 0 in pg_dist_node), so that it holds
 * a copy of every reference table: the fact build joins its local staging table to the reference
 * dimensions there, which Citus plans locally only then.
 */
export async function coordinatorInMetadata(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select exists (select 1 from pg_dist_node where groupid = 0) as found`.execute(db)
  return Boolean(rows[0]?.found)
}

export const NOT_IN_METADATA =
  "the Citus coordinator is not in Citus's metadata, so it holds no copy of the reference tables the fact builds join on it: run select citus_set_coordinator_host('<its host>', <port>) first (docs/citus.md)"

export interface Applied {
  readonly table: string
  readonly treatment: Treatment
  readonly statement: string
}

/**
 * `etl migrate up` on a coordinator: every table of the schema its plan treatment, skipping
 * those already in pg_dist_partition (and the tenant schemas already in pg_dist_schema). Each
 * statement commits on its own, so a failure half-way is resumed by the next `migrate up`.
 * A table distributed with rows keeps a local copy until truncated: done at once, as Citus asks.
 * Off a coordinator it does nothing and says so by returning null.
 */
export async function applyCitusPlan(db: Kysely<any>, schema: string, shardCount: number): Promise<Applied[] | null> {
  const role = await citusRole(db)
  if (role !== 'coordinator') return null
  if (!(await coordinatorInMetadata(db))) throw new EtlError('CONFIG', NOT_IN_METADATA)
  const state = await citusState(db, schema, role)
  const applied: Applied[] = []
  const ordered = [...CITUS_PLAN.filter((d) => !d.family).map((d) => d.table), ...[...state.keys()].filter((t) => decisionOf(t).family)]
  for (const table of ordered) {
    const now = state.get(table)
    if (!now || now.now !== 'local') continue
    const decision = decisionOf(table)
    const statement = distributionSql(decision, `${schema}.${table}`, { schema, shardCount })
    if (!statement) continue
    await sql.raw(statement).execute(db)
    await sql.raw(`select truncate_local_data_after_distributing_table(${literal(qualified(`${schema}.${table}`))})`).execute(db)
    applied.push({ table, treatment: decision.treatment, statement })
  }
  for (const t of await tenantSchemas(db, role)) {
    if (t.distributed) continue
    const statement = distributionSql(familyDecision('tenant series'), `${t.schema}.metrics_time_series`, { schema, shardCount })!
    await sql.raw(statement).execute(db)
    applied.push({ table: `${t.schema}.metrics_time_series`, treatment: 'schema', statement })
  }
  return applied
}

/**
 * Gives a table a kind just created its treatment in the plan when the warehouse is a Citus
 * coordinator; off Citus it costs one catalog read (cached per kysely instance) and does
 * nothing. Idempotent: a table already in pg_dist_partition (a tenant schema already in
 * pg_dist_schema) is left alone, so callers may call it after every `create table if not exists`.
 * `family` says what the table is when its name does not (a dimension need not be `dim_…`).
 * Call it where a kind creates a table: the dimension and its staging (src/kinds/dimension),
 * a table-sync target, and `ensureTenantSeriesTable` (src/kinds/series) with 'tenant series'
 * once the schema and its table exist. A fact's daily partitions need no call: Citus
 * distributes a partition created of a distributed parent.
 *
 * @example
 * await distributeNewTable(ctx.db, 'dim_learner', 'dimension')
 * await distributeNewTable(ctx.db, 'analytics_company_7.metrics_time_series', 'tenant series')
 */
export async function distributeNewTable(db: Kysely<any>, table: string, family?: Family): Promise<Treatment | null> {
  if ((await citusRole(db)) !== 'coordinator') return null
  const decision: Decision = family ? familyDecision(family) : decisionOf(table.split('.').pop()!)
  if (decision.treatment === 'local') return 'local'
  const parts = table.split('.')
  if (!parts.every((p) => IDENTIFIER.test(p))) throw new Error(`distributeNewTable: not a plain table name: ${table}`)
  const known =
    decision.treatment === 'schema'
      ? sql<{ done: boolean }>`select exists (select 1 from pg_dist_schema where schemaid = to_regnamespace(${parts[0]!})) as done`
      : sql<{ done: boolean }>`select exists (select 1 from pg_dist_partition where logicalrelid = to_regclass(${qualified(table)})) as done`
  if ((await known.execute(db)).rows[0]?.done) return decision.treatment
  if (decision.treatment === 'distributed' && !decision.colocateWith) throw new Error(`distributeNewTable: ${table} would start a colocation group; only etl migrate up does that`)
  // unqualified names resolve on the search path, as the kind's own create table did; a new
  // distributed table joins the anchor's group, so its shard count is the anchor's
  const statement = distributionSql(decision, table, { schema: parts.length > 1 ? parts[0]! : '', shardCount: 0 })
  if (statement) await sql.raw(statement).execute(db)
  return decision.treatment
}
