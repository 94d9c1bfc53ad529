import type { Command } from 'commander'
import { listMigrations, migrateDown, migrateUp } from '../../db/migrate.js'
import { fillDemo, type DemoScale, type DemoSummary } from '../../demo/generate.js'
import { backfill } from '../../engine/backfill.js'
import { recentRuns } from '../../engine/ledger/index.js'
import { EtlError } from '../../errors.js'
import { addDays } from '../../time/calendar.js'
import { defaultDate, withContext } from '../context.js'
import { print, table } from '../options.js'
import { reportOutcomes } from '../outcomes.js'

const MIGRATE_ACTIONS = ['up', 'down', 'redo', 'list'] as const

export async function migrate(action: string, command: Command): Promise<void> {
  if (!(MIGRATE_ACTIONS as readonly string[]).includes(action)) {
    throw new EtlError('USAGE', `unknown migrate action '${action}'; use one of ${MIGRATE_ACTIONS.join(', ')}`)
  }
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse({ migrate: false })
    const schema = ctx.config.warehouseSchema
    if (action === 'list') {
      const migrations = await listMigrations(warehouse, schema)
      print(table(['migration', 'applied at'], migrations.map((m) => [m.name, m.executedAt?.toISOString() ?? 'pending'])))
      return
    }
    const done: string[] = []
    if (action === 'down' || action === 'redo') {
      const down = await migrateDown(warehouse, schema)
      done.push(...down.map((n) => `rolled back ${n}`))
    }
    if (action === 'up' || action === 'redo') {
      const up = await migrateUp(warehouse, schema)
      done.push(...up.map((n) => `applied ${n}`))
    }
    print(done.length ? done.join('\n') : 'nothing to do: the warehouse is up to date')
  })
}

export async function demo(options: { scale: string; seed: number; days: number }, command: Command): Promise<void> {
  if (!['small', 'medium', 'large'].includes(options.scale)) {
    throw new EtlError('USAGE', `--scale '${options.scale}' is not a size; use small, medium or large`)
  }
  await withContext(command, async (ctx) => {
    const to = defaultDate(ctx, undefined)
    const started = Date.now()
    const filled = await ctx.connections.withWritableSource((source) =>
      fillDemo(source, { scale: options.scale as DemoScale, seed: options.seed, today: to, timezone: ctx.config.timezone }),
    )
    print(demoDataLine(filled, Date.now() - started))
    const warehouse = await ctx.connections.warehouse({ migrate: false })
    const applied = await migrateUp(warehouse, ctx.config.warehouseSchema)
    if (applied.length) print(`migrated the warehouse: ${applied.join(', ')}`)
    const registry = await ctx.registry()
    const from = addDays(to, -(options.days - 1))
    const env = await ctx.runEnv()
    const jobs = registry.jobs.filter((j) => j.pipeline)
    print(`running the pipeline (${jobs.length} jobs) for ${from} .. ${to}`)
    const summary = await backfill(env, { from, to, jobs })
    reportOutcomes(summary.outcomes, env.invocationId)
    const rows = await recentRuns(warehouse.db, { limit: 20 })
    print('')
    print(
      table(
        ['started', 'job', 'partition', 'status', 'rows', 'ms'],
        rows.map((r) => [r.started_at.toISOString().slice(0, 19), r.job_name, r.target_date ?? '-', r.status, r.rows_processed, r.duration_ms]),
      ),
    )
    print(`\nwarehouse: ${warehouse.label}. Next: 'pnpm etl status', 'pnpm etl jobs', 'pnpm etl run --date ${to} --force'`)
  })
}

function demoDataLine(summary: DemoSummary, ms: number): string {
  const counts = Object.entries(summary.counts)
    .map(([table, n]) => `${n.toLocaleString('en-US')} ${table.replaceAll('_', ' ')}`)
    .join(', ')
  return summary.created
    ? `demo data: created in ${(ms / 1000).toFixed(1)} s (${counts})`
    : `demo data: source already has data; left as it is (${counts})`
}
