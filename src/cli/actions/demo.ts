import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import type { Config } from '../../config.js'
import { embeddedDir } from '../../db/connect.js'
import { migrateUp, pendingMigrations } from '../../db/migrate.js'
import { fillDemo, type DemoScale, type DemoSummary } from '../../demo/generate.js'
import { SCALES } from '../../demo/plan.js'
import { backfill, type BackfillGroup } from '../../engine/backfill.js'
import { exitCodeOfOutcomes } from '../../engine/sequence.js'
import { EtlError } from '../../errors.js'
import { addDays } from '../../time/calendar.js'
import { defaultDate, withContext } from '../context.js'
import { DEFAULT_STATUS_LIMIT, print } from '../options.js'
import { reportOutcomes } from '../outcomes.js'
import { stepReporter } from '../steps.js'
import { printStatus } from './ledger.js'

/**
 * `etl demo`: fills the source (if empty), migrates the warehouse, runs the pipeline for the
 * last `--days` days, and ends with the status table and one line of what to try next. While it
 * works it says which step it is on (src/cli/steps.ts): one rewritten line at a terminal, plain
 * lines on stderr otherwise.
 */
export async function demo(options: { scale: string; seed: number; days: number }, command: Command): Promise<void> {
  if (!Object.hasOwn(SCALES, options.scale)) {
    throw new EtlError('USAGE', `--scale '${options.scale}' is not a size; use small, medium or large`)
  }
  const scale = options.scale as DemoScale
  await withContext(command, async (ctx) => {
    const { config } = ctx
    const steps = stepReporter('demo')
    try {
      const to = defaultDate(ctx, undefined)
      steps.step(await openingText(config, 'oltp'))
      const started = Date.now()
      const filled = await ctx.connections.withWritableSource((source) =>
        fillDemo(source, { scale, seed: options.seed, today: to, timezone: config.timezone }, {
          onFill: (plan) => steps.step(`filling the source: ${plan.tenants} tenants, ${plan.learners} learners, ${plan.days} days`),
        }),
      )
      steps.clear()
      print(demoDataLine(filled, Date.now() - started))

      steps.step(await openingText(config, 'warehouse'))
      const warehouse = await ctx.connections.warehouse({ migrate: false })
      const pending = await pendingMigrations(warehouse, config.warehouseSchema)
      if (pending.length) steps.step(`migrating the warehouse: ${plural(pending.length, 'migration')}`)
      await migrateUp(warehouse, config.warehouseSchema)

      const jobs = (await ctx.registry()).jobs.filter((j) => j.pipeline)
      const env = await ctx.runEnv()
      let done = 0
      let size = 0
      const summary = await backfill(env, {
        from: addDays(to, -(options.days - 1)),
        to,
        jobs,
        onGroup: (group) => {
          done = 0
          size = group.jobs.length
          steps.step(groupText(group))
        },
        // the count first: a narrow terminal cuts the end of the line
        onOutcome: (o) => steps.detail(`${++done <= size ? `${done}/${size} ` : ''}${o.job} ${o.status}`),
      })
      steps.stop()

      reportOutcomes(summary.outcomes, env.invocationId, { table: false })
      print('')
      await printStatus(ctx, warehouse, { limit: DEFAULT_STATUS_LIMIT })
      const next = exitCodeOfOutcomes(summary.outcomes)
        ? `etl retry --run-id ${env.invocationId}`
        : `etl status --job build_fact_sessions, or etl sql "select * from daily_metrics limit 5"`
      print(`\nnext: ${next}`)
    } finally {
      // the line goes before the error (or the table) is printed
      steps.stop()
    }
  })
}

/** The step of opening a role's database: which server, or which embedded folder and whether it is new. */
async function openingText(config: Config, role: 'oltp' | 'warehouse'): Promise<string> {
  const name = role === 'oltp' ? 'source' : 'warehouse'
  const url = role === 'oltp' ? config.oltpUrl : config.warehouseUrl
  if (url) return `using the ${name} at ${(await import('../../db/postgres.js')).labelOf(url)}`
  const dir = embeddedDir(config, role)
  return `${fs.existsSync(path.join(dir, 'PG_VERSION')) ? 'opening' : 'creating'} the embedded ${name} in ${dir}`
}

function groupText(group: BackfillGroup): string {
  const jobs = plural(group.jobs.length, 'job')
  if (group.phase === 'day') return `running day ${group.day} of ${group.count} (${group.date})`
  return `running ${jobs} without a partition ${group.phase}`
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function demoDataLine(summary: DemoSummary, ms: number): string {
  const counts = Object.entries(summary.counts)
    .map(([table, n]) => `${n.toLocaleString('en-US')} ${table.replaceAll('_', ' ')}`)
    .join(', ')
  return summary.created
    ? `demo data: created in ${(ms / 1000).toFixed(1)} s (${counts})`
    : `demo data: source already has data; left as it is (${counts})`
}
