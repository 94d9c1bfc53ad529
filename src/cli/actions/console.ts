import fs from 'node:fs'
import type { Command } from 'commander'
import type { EtlContext } from '../../engine/context.js'
import { attemptsOfInvocation, recentInvocations } from '../../engine/ledger/index.js'
import { lastEndedDay } from '../../engine/ended.js'
import { EtlError } from '../../errors.js'
import { redact } from '../../redact.js'
import { loadConsole, readCacheStats, type LoadOptions } from '../../console/model/load.js'
import { describeInvocation, timeline } from '../../console/model/runs.js'
import { buildLineage } from '../../console/model/lineage.js'
import { graphText } from '../../console/text/graph.js'
import { gridText } from '../../console/text/grid.js'
import { renderReport } from '../../console/render.js'
import { addDays, type IsoDate } from '../../time/calendar.js'
import { withContext } from '../context.js'
import { assertOutFolder, oneLine, print, table, timeCell } from '../options.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The model's inputs from a command's context: the warehouse, the registry, the clock, Redis when set. */
export async function consoleInputs(ctx: EtlContext, range: { from?: IsoDate; to?: IsoDate }): Promise<LoadOptions> {
  if (range.from && range.to && range.from > range.to) throw new EtlError('BAD_RANGE', `--from ${range.from} is after --to ${range.to}; swap them`)
  const warehouse = await ctx.connections.warehouse()
  const registry = await ctx.registry()
  return {
    db: warehouse.db,
    registry,
    now: ctx.now(),
    timezone: ctx.config.timezone,
    from: range.from ?? (range.to ? addDays(range.to, -29) : undefined),
    to: range.to,
    cache: () => readCacheStats(ctx.config, ctx.log),
  }
}

export async function report(options: { out: string; from?: IsoDate; to?: IsoDate }, command: Command): Promise<void> {
  assertOutFolder(options.out)
  await withContext(command, async (ctx) => {
    const model = await loadConsole(await consoleInputs(ctx, options))
    fs.writeFileSync(options.out, renderReport(model))
    print(`wrote ${options.out}: ${plural(model.jobs.length, 'job')}, ${model.range.from} to ${model.range.to}, ${plural(model.invocations.length, 'run')}; opens offline`)
  })
}

export async function statusGrid(options: { from?: IsoDate; to?: IsoDate; job?: string }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    if (options.job) (await ctx.registry()).get(options.job)
    const to = options.to ?? lastEndedDay('day', ctx.now(), ctx.config.timezone)
    const from = options.from ?? addDays(to, -13)
    const inputs = await consoleInputs(ctx, { from, to })
    const model = await loadConsole({ ...inputs, cache: undefined, page: 'partitions' })
    const colour = Boolean(process.stdout.isTTY) && !ctx.config.noColor
    print(gridText(model.grid.filter((r) => !options.job || r.job.name === options.job), model.range, { colour }))
  })
}

export async function listRuns(options: { limit: number; json?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse()
    const runs = (await recentInvocations(warehouse.db, options.limit)).map(describeInvocation)
    if (options.json) return print(JSON.stringify(runs))
    if (runs.length === 0) return print('no runs recorded yet')
    print(
      table(
        ['started', 'kind', 'partitions', 'pairs', 'success', 'failed', 'partial', 'skipped', 'running', 'rows', 'seconds', 'run id'],
        runs.map((r) => [
          timeCell(r.started_at),
          r.kind,
          r.first_target ? (r.first_target === r.last_target ? r.first_target : `${r.first_target}..${r.last_target}`) : '-',
          r.pairs,
          r.success,
          r.failed,
          r.partial,
          r.skipped,
          r.running,
          r.rows_processed,
          r.ended_at ? ((r.ended_at.getTime() - r.started_at.getTime()) / 1000).toFixed(1) : '-',
          r.invocation_id,
        ]),
      ),
    )
  })
}

export async function showRun(id: string, options: { json?: boolean }, command: Command): Promise<void> {
  if (!UUID.test(id)) throw new EtlError('BAD_INPUT', `'${id}' is not a run id (a UUID from 'etl runs')`)
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse()
    const attempts = await attemptsOfInvocation(warehouse.db, id)
    if (attempts.length === 0) throw new EtlError('BAD_INPUT', `no run with id ${id}; 'etl runs' lists recent ones`)
    if (options.json) return print(JSON.stringify(attempts.map((a) => ({ ...a, error_message: a.error_message && redact(a.error_message) }))))
    const { bars, spanMs } = timeline(attempts, ctx.now())
    const width = 24
    print(
      table(
        ['started', 'job', 'partition', 'status', 'rows', 'ms', 'attempt', `timeline (${(spanMs / 1000).toFixed(1)} s)`, 'message'],
        bars.map((b) => {
          const a = b.attempt
          const start = Math.min(width - 1, Math.floor(b.left * width))
          const len = Math.max(1, Math.round(b.width * width))
          return [
            timeCell(a.started_at),
            a.job_name,
            a.target ?? '-',
            a.gone ? 'RUNNING (gone)' : a.status,
            a.rows_processed,
            a.duration_ms,
            a.attempt,
            `${' '.repeat(start)}${'#'.repeat(Math.min(len, width - start))}`.padEnd(width, '.'),
            a.error_message ? oneLine(redact(a.error_message), 60) : '',
          ]
        }),
      ),
    )
    const failed = attempts.filter((a) => a.status === 'FAILED' || a.status === 'PARTIAL').length
    if (failed) print(`\nretry: etl retry --run-id ${id}`)
  })
}

export async function jobsGraph(format: 'mermaid' | 'dot', command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry()
    print(graphText(buildLineage(registry.jobs, new Map()), format))
  })
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
