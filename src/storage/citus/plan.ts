import { LEDGER_TABLE } from '../../engine/ledger/table.js'
import { literal, qualified } from '../../io/identifiers.js'

/**
 * How a table lives on a Citus cluster:
 *  - `distributed`: hash-distributed by `column` into shards on the workers, colocated with the
 *    anchor (same shard count, same tenant on the same worker);
 *  - `reference`: one copy on every node, so any distributed table joins it on the worker;
 *  - `local`: a plain table on the coordinator, as on PostgreSQL;
 *  - `schema`: schema-based sharding (`citus_schema_distribute`): every table of the schema is a
 *    single-shard table and the schema lives on one worker.
 */
export type Treatment = 'distributed' | 'reference' | 'local' | 'schema'

/**
 * One row of the plan. `table` names one table of the migrations; a family (`family` set) is
 * the tables a kind creates at run time, which `distributeNewTable` is told the family of.
 */
export interface Decision {
  /** A table of the warehouse schema, or the family's name as `etl citus plan` prints it. */
  readonly table: string
  readonly family?: Family
  readonly treatment: Treatment
  /** The distribution column of a distributed table. */
  readonly column?: string
  /** The table whose colocation group it joins; the anchor itself has none and takes the shard count. */
  readonly colocateWith?: string
  readonly why: string
}

/** The tables kinds create while they run, by who creates them. */
export type Family = 'dimension' | 'dimension staging' | 'staging' | 'synced table' | 'tenant series'

/** The first distributed table: it fixes the shard count of the tenant colocation group. */
export const ANCHOR = 'fact_sessions'

const TENANT = 'tenant_id'
const facts = (table: string, why: string): Decision => ({
  table,
  treatment: 'distributed',
  column: TENANT,
  ...(table === ANCHOR ? {} : { colocateWith: ANCHOR }),
  why,
})
const LOCAL_ADMIN = 'written and read by the coordinator only, never joined with tenant data'

/**
 * The one table of decisions: `etl migrate up` and the kinds distribute from it, `etl citus
 * plan` prints it, docs/citus.md shows it (a test checks the page against it). Order matters:
 * dim_date comes first, because the facts' date_key references it and Citus distributes a table
 * with a foreign key only to a reference (or distributed) table; then the anchor, before the
 * tables colocated with it.
 */
export const CITUS_PLAN: readonly Decision[] = [
  {
    table: 'dim_date',
    treatment: 'reference',
    why: "the calendar every fact's date_key references (a foreign key Citus allows to a reference table only), so it is made before the facts",
  },
  facts(ANCHOR, 'per-tenant events; the daily partitions made later are distributed with it'),
  facts('fact_focus_events', 'per-tenant events, joined with fact_sessions by tenant on one worker'),
  facts('fact_homework_events', 'per-tenant events'),
  facts('fact_recommendation_events', 'per-tenant events'),
  facts('fact_learning_progress', 'per-tenant daily snapshot'),
  facts('daily_metrics', 'rolled up from the facts by tenant: the insert … select runs on each worker'),
  facts('weekly_metrics', 'rolled up from daily_metrics by tenant, on each worker'),
  facts('monthly_metrics', 'rolled up from daily_metrics by tenant, on each worker'),
  {
    table: 'custom_metric_values',
    treatment: 'reference',
    why: 'no tenant column; filled by insert … select from the distributed facts, which Citus refuses into a local table',
  },
  { table: 'custom_metric_definitions', treatment: 'local', why: `${LOCAL_ADMIN}; read before the metrics are computed` },
  { table: 'price_bars_daily', treatment: 'local', why: 'market data, not per tenant: read by symbol, never joined with tenant tables; a copy per node would multiply it' },
  { table: 'price_bars_hourly', treatment: 'local', why: 'as price_bars_daily; its monthly partitions stay plain tables' },
  { table: 'latest_prices', treatment: 'local', why: 'as price_bars_daily' },
  { table: LEDGER_TABLE, treatment: 'local', why: `the ledger: ${LOCAL_ADMIN}; the run locks beside it are advisory locks, which hold per node` },
  { table: 'etl_run_locks', treatment: 'local', why: 'numbers the advisory locks of the coordinator, which are per node' },
  { table: 'etl_watermarks', treatment: 'local', why: `${LOCAL_ADMIN}; moves in the sync's transaction with its local target` },
  { table: 'etl_storage_policies', treatment: 'local', why: `${LOCAL_ADMIN} (the partition and retention functions run there)` },
  { table: 'etl_check_results', treatment: 'local', why: `${LOCAL_ADMIN}; a check's counts are inserted as values` },
  { table: 'kysely_migration', treatment: 'local', why: "the migrator's own bookkeeping, on the coordinator" },
  { table: 'kysely_migration_lock', treatment: 'local', why: "the migrator's own lock, on the coordinator" },
  {
    table: 'dim_* (every dimension)',
    family: 'dimension',
    treatment: 'reference',
    why: 'small and joined by every fact and rollup: a copy on each worker keeps those joins there',
  },
  {
    table: 'staging.<dimension job>',
    family: 'dimension staging',
    treatment: 'reference',
    why: 'the sync updates the reference dimension from it, which Citus refuses from a local table',
  },
  {
    table: 'staging.<other job>',
    family: 'staging',
    treatment: 'local',
    why: "the day's source rows of a fact build or sync, read once on the coordinator joined with reference dimensions",
  },
  {
    table: '<table-sync target>',
    family: 'synced table',
    treatment: 'local',
    why: 'a copy of a source table kept by the coordinator with its watermark, partitions and retention in one transaction',
  },
  {
    table: 'analytics_company_<id>.metrics_time_series',
    family: 'tenant series',
    treatment: 'schema',
    why: "one schema per tenant: schema-based sharding puts each tenant's series on one worker, without a tenant column",
  },
]

/** The decision for a table of the warehouse schema, by its name: a dimension is `dim_…`, else local. */
export function decisionOf(table: string): Decision {
  const exact = CITUS_PLAN.find((d) => !d.family && d.table === table)
  if (exact) return exact
  if (/^dim_/.test(table)) return familyDecision('dimension')
  return { table, treatment: 'local', why: 'no decision in the plan: stays a plain table on the coordinator' }
}

export function familyDecision(family: Family): Decision {
  const found = CITUS_PLAN.find((d) => d.family === family)
  if (!found) throw new Error(`the Citus plan has no family ${family}`)
  return found
}

/**
 * The statement that gives `table` (`schema.table`, or a name the search path resolves; the
 * anchor is looked up in `options.schema`, or on the search path when that is '') its treatment on a coordinator, or null
 * for a local table. The anchor takes the shard count; the tables colocated with it take its.
 *
 * @example
 * distributionSql(decisionOf('daily_metrics'), 'public.daily_metrics', { schema: 'public', shardCount: 8 })
 * // select create_distributed_table('"public"."daily_metrics"', 'tenant_id', colocate_with => '"public"."fact_sessions"')
 */
export function distributionSql(decision: Decision, table: string, options: { schema: string; shardCount: number }): string | null {
  const name = literal(qualified(table))
  switch (decision.treatment) {
    case 'local':
      return null
    case 'reference':
      return `select create_reference_table(${name})`
    case 'schema':
      return `select citus_schema_distribute(${literal(qualified(table.split('.')[0]!))})`
    case 'distributed': {
      const placement = decision.colocateWith
        ? `colocate_with => ${literal(qualified(options.schema ? `${options.schema}.${decision.colocateWith}` : decision.colocateWith))}`
        : `shard_count => ${options.shardCount}, colocate_with => 'none'`
      return `select create_distributed_table(${name}, ${literal(decision.column!)}, ${placement})`
    }
  }
}

/** The plan's statements for the tables of the migrations, in order (a fresh warehouse's `etl migrate up`). */
export function planSql(options: { schema: string; shardCount: number }): string[] {
  return CITUS_PLAN.filter((d) => !d.family)
    .map((d) => distributionSql(d, `${options.schema}.${d.table}`, options))
    .filter((s): s is string => s !== null)
}

/** The plan as the Markdown table of docs/citus.md (a test checks the page holds exactly this). */
export function planMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|')
  return [
    '| table | treatment | distribution column | colocation | why |',
    '|---|---|---|---|---|',
    ...CITUS_PLAN.map((d) =>
      `| \`${d.table}\` | ${d.treatment} | ${d.column ?? '-'} | ${d.treatment === 'distributed' ? (d.colocateWith ? `with ${d.colocateWith}` : 'anchor (ETL_CITUS_SHARD_COUNT shards)') : '-'} | ${cell(d.why)} |`,
    ),
  ].join('\n')
}
