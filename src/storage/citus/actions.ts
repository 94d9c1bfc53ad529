import type { Command } from 'commander'
import { withContext } from '../../cli/context.js'
import { print, table } from '../../cli/options.js'
import { migrationState } from '../../db/migrate.js'
import { EtlError } from '../../errors.js'
import { citusRole, citusState, coordinatorInMetadata, NOT_IN_METADATA, tenantSchemas, type CitusRole, type TableState } from './apply.js'
import { CITUS_PLAN, decisionOf, distributionSql, familyDecision, type Decision } from './plan.js'

export interface PlanRow {
  readonly table: string
  readonly treatment: Decision['treatment']
  readonly column: string | null
  readonly colocation: string | null
  /** How it is now: its Citus type, `local`, `missing` (not made yet), or for a family how many exist. */
  readonly now: string
  /** The statement `etl migrate up` would run for it now; null when there is nothing to do. */
  readonly statement: string | null
  readonly why: string
}

/**
 * The plan against the warehouse: every decision, the tables of the schema that match none (they
 * stay local), and what each is now. Reads the catalog only; changes nothing.
 */
export function planRows(
  role: CitusRole,
  state: Map<string, TableState>,
  tenants: Array<{ schema: string; distributed: boolean }>,
  options: { schema: string; shardCount: number },
): PlanRow[] {
  const coordinator = role === 'coordinator'
  // `todo`: the qualified name to distribute now, when this is a coordinator and the table is still plain
  const row = (d: Decision, name: string, now: string, todo: string | null): PlanRow => ({
    table: name,
    treatment: d.treatment,
    column: d.column ?? null,
    colocation: d.treatment === 'distributed' ? (d.colocateWith ? `with ${d.colocateWith}` : `anchor, ${options.shardCount} shards`) : null,
    now,
    statement: todo && coordinator ? distributionSql(d, todo, options) : null,
    why: d.why,
  })
  const plainNow = (s: TableState | undefined, d: Decision) => (s?.now === 'local' && d.treatment !== 'local' ? `${options.schema}.${s.table}` : null)
  const rows: PlanRow[] = []
  const named = new Set<string>()
  for (const d of CITUS_PLAN.filter((x) => !x.family)) {
    const s = state.get(d.table)
    named.add(d.table)
    rows.push(row(d, d.table, s ? describe(s) : 'missing', plainNow(s, d)))
  }
  // the tables of the schema the plan does not name: dimensions by their prefix, the rest local
  for (const s of state.values()) {
    if (named.has(s.table)) continue
    const d = decisionOf(s.table)
    rows.push(row(d, s.table, describe(s), plainNow(s, d)))
  }
  const dimensions = [...state.keys()].filter((t) => !named.has(t) && decisionOf(t).family === 'dimension').length
  for (const d of CITUS_PLAN.filter((x) => x.family)) {
    const now =
      d.family === 'tenant series'
        ? `${tenants.filter((t) => t.distributed).length} of ${tenants.length} schemas distributed`
        : d.family === 'dimension'
          ? `${dimensions} in the schema, listed above`
          : 'made by each run'
    rows.push(row(d, d.table, now, null))
  }
  const series = familyDecision('tenant series')
  for (const t of tenants.filter((x) => !x.distributed && coordinator)) {
    rows.push(row(series, `${t.schema}.metrics_time_series`, 'local', `${t.schema}.metrics_time_series`))
  }
  return rows
}

function describe(s: TableState): string {
  if (s.now === 'distributed') return `distributed by ${s.column} (group ${s.colocationId})`
  return s.now
}

const ROLE_LINE: Record<CitusRole, string> = {
  none: "not a Citus coordinator (no citus extension): every table is a plain table; on a coordinator 'etl migrate up' applies this plan",
  worker: "not a Citus coordinator: this is a worker node; point every etl process at the coordinator",
  coordinator: '',
}

/** `etl citus plan [--json | --sql]`: exit 0 on and off Citus; off it the plan is printed with the reason nothing would change. */
export async function citus(action: string, options: { json?: boolean; sql?: boolean }, command: Command): Promise<void> {
  if (action !== 'plan') throw new EtlError('USAGE', `unknown citus action '${action}'; use 'etl citus plan'`)
  if (options.json && options.sql) throw new EtlError('USAGE', 'citus plan takes --json or --sql, not both')
  await withContext(command, async (ctx) => {
    // before anything is changed: not even the embedded warehouse's own migrations
    const warehouse = await ctx.connections.warehouse({ migrate: false })
    const role = await citusRole(warehouse.db)
    const schema = ctx.config.warehouseSchema
    const { pending } = await migrationState(warehouse, schema)
    const state = await citusState(warehouse.db, schema, role)
    const rows = planRows(role, state, await tenantSchemas(warehouse.db, role), { schema, shardCount: ctx.config.citusShardCount })
    if (options.json) return print(JSON.stringify({ coordinator: role === 'coordinator', role, shardCount: ctx.config.citusShardCount, pendingMigrations: pending, tables: rows }))
    if (options.sql) {
      const statements = rows.map((r) => r.statement).filter(Boolean)
      return print(role !== 'coordinator' ? `-- ${ROLE_LINE[role]}` : statements.length ? `${statements.join(';\n')};` : '-- nothing to do: every table has its treatment')
    }
    const todo = rows.filter((r) => r.statement).length
    const inMetadata = role === 'coordinator' ? await coordinatorInMetadata(warehouse.db) : true
    print(
      [
        table(['table', 'treatment', 'column', 'colocation', 'now'], rows.map((r) => [r.table, r.treatment, r.column ?? '-', r.colocation ?? '-', r.now])),
        ...(inMetadata ? [] : [`warning: ${NOT_IN_METADATA}`]),
        ...(pending.length ? [`${pending.length} pending migration(s): the tables they make show as missing until 'etl migrate up', which applies them and then this plan`] : []),
        role === 'coordinator'
          ? todo
            ? `${todo} table(s) to distribute: 'etl migrate up' does it ('etl citus plan --sql' shows the statements)`
            : 'every table has its treatment'
          : ROLE_LINE[role],
      ].join('\n'),
    )
  })
}
