import { sql } from 'kysely'
import type { JobContext, JobResult } from '../../../engine/job.js'
import { eachUnit } from '../../../engine/units.js'
import { metricQuery } from './compile.js'
import { parseDefinition } from './definition.js'
import { listDefinitions, sourceColumns } from './store.js'
import { METRIC_TIMEOUT_MS } from './timeout.js'

/**
 * calc_custom_metrics: every active definition (its latest version) for the day, into
 * custom_metric_values — one INSERT … SELECT … ON CONFLICT per definition, each in a SAVEPOINT so
 * a definition that fails (a column dropped since it was defined) is a failed unit, not a failed day.
 */
export async function calcCustomMetricsForDay(ctx: JobContext): Promise<JobResult> {
  if (!ctx.target) throw new Error('custom metrics need a day')
  const day = ctx.target
  const definitions = (await listDefinitions(ctx.db)).filter((d) => d.is_active)
  const timeoutMs = (ctx.job.definition as { statementTimeoutMs?: number }).statementTimeoutMs ?? METRIC_TIMEOUT_MS.default
  // per transaction (set_config(…, true) is SET LOCAL): works behind PgBouncer's transaction
  // mode; the run's own bound comes back after the definitions, for the ledger write and checks
  const { rows: before } = await sql<{ v: string }>`select current_setting('statement_timeout') as v`.execute(ctx.db)
  await sql`select set_config('statement_timeout', ${String(timeoutMs)}, true)`.execute(ctx.db)
  let written = 0
  let deleted = 0
  const failedUnits = await eachUnit(
    ctx.db,
    definitions,
    async (stored) => {
      const def = parseDefinition(stored.definition, `custom metric '${stored.name}' v${stored.version}`)
      const query = metricQuery(ctx.db, def, await sourceColumns(ctx.db, def.dataSource), day, day, ctx.config.timezone)
      const values = ctx.db
        .selectFrom(query.as('m'))
        .select([
          sql.val(stored.name).as('name'),
          sql.val(stored.version).as('version'),
          sql`cast(${day} as date)`.as('metric_date'),
          sql`m.dimensions::text`.as('dimension_key'),
          'm.dimensions',
          'm.value',
          sql`cast(${ctx.runId} as uuid)`.as('run_id'),
          sql`cast(${ctx.now} as timestamptz)`.as('computed_at'),
        ])
      const inserted = await ctx.db
        .insertInto('custom_metric_values')
        .columns(['name', 'version', 'metric_date', 'dimension_key', 'dimensions', 'value', 'run_id', 'computed_at'])
        .expression(values)
        .onConflict((oc) =>
          oc.columns(['name', 'metric_date', 'dimension_key']).doUpdateSet((eb) => ({
            version: eb.ref('excluded.version'),
            dimensions: eb.ref('excluded.dimensions'),
            value: eb.ref('excluded.value'),
            run_id: eb.ref('excluded.run_id'),
            computed_at: eb.ref('excluded.computed_at'),
          })),
        )
        .executeTakeFirst()
      const stale = await sql`delete from custom_metric_values where name = ${stored.name} and metric_date = ${day}::date
        and run_id is distinct from ${ctx.runId}::uuid`.execute(ctx.db)
      written += Number(inserted.numInsertedOrUpdatedRows ?? 0)
      deleted += Number(stale.numAffectedRows ?? 0)
    },
    {
      name: (stored) => `metric ${stored.name} v${stored.version}`,
      onError: (stored, message) => ctx.log.warn({ metric: stored.name }, `custom metric ${stored.name} failed: ${message}`),
    },
  )
  await sql`select set_config('statement_timeout', ${before[0]!.v}, true)`.execute(ctx.db)
  return { rowsProcessed: definitions.length, rowsInserted: written, rowsDeleted: deleted, failedUnits: failedUnits.length ? failedUnits : undefined }
}
