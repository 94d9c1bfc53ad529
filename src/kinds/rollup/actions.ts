import fs from 'node:fs'
import type { Command } from 'commander'
import type { RegisteredJob } from '../../engine/job.js'
import type { JobRegistry } from '../../engine/registry.js'
import { runJob, type RunOutcome } from '../../engine/runner.js'
import { EtlError } from '../../errors.js'
import { checkSource, parseDefinition, type MetricDefinition } from './custom/definition.js'
import type { RollupDefinition } from './index.js'
import { previousPeriodStart } from './periods.js'
import { addDays, dateOf, dateRange, monthStart, nextPeriodStart, parseDate, parseMonth, weekStart, type IsoDate } from '../../time/calendar.js'
import { withContext } from '../../cli/context.js'
import { print, table } from '../../cli/options.js'
import { reportOutcomes } from '../../cli/outcomes.js'
import { METRIC_TIMEOUT_MS } from './custom/timeout.js'

interface RollupOptions {
  week?: IsoDate
  month?: IsoDate
  from?: string
  to?: string
  force?: boolean
}

/** The rollup job of a grain: the registry's one rollup job with that `aggregate`. */
export function rollupJob(registry: JobRegistry, grain: 'weekly' | 'monthly'): RegisteredJob {
  const jobs = registry.ofKind('rollup').filter((j) => (j.definition as unknown as RollupDefinition).aggregate === grain)
  if (jobs.length === 0) throw new EtlError('UNKNOWN_JOB', `no rollup job with aggregate '${grain}'; add one under jobs/ or a folder of ETL_JOBS_PATH`)
  if (jobs.length > 1) {
    throw new EtlError('USAGE', `'etl rollup ${grain}' runs the one rollup job with aggregate '${grain}', and there are ${jobs.length} (${jobs.map((j) => j.name).join(', ')}); run one with 'etl run-job --job NAME --date D'`)
  }
  return jobs[0]!
}

/** The periods a rollup command covers, checked before anything opens (exit 2). */
export function rollupPeriods(grain: 'weekly' | 'monthly', options: RollupOptions, today: IsoDate): IsoDate[] {
  const single = grain === 'weekly' ? options.week : options.month
  const other = grain === 'weekly' ? options.month : options.week
  if (other) throw new EtlError('USAGE', `--${grain === 'weekly' ? 'month' : 'week'} is for 'etl rollup ${grain === 'weekly' ? 'monthly' : 'weekly'}'`)
  if ((options.from === undefined) !== (options.to === undefined)) throw new EtlError('USAGE', 'give both --from and --to for a range')
  if (single && options.from) throw new EtlError('USAGE', `give either --${grain === 'weekly' ? 'week' : 'month'} or --from/--to, not both`)
  const unit = grain === 'weekly' ? 'week' : 'month'
  const startOf = (value: string, flag: string) =>
    grain === 'weekly' ? weekStart(parseDate(value, flag)) : monthStart(parseMonth(value, flag))
  if (options.from !== undefined && options.to !== undefined) {
    const from = startOf(options.from, '--from')
    const to = startOf(options.to, '--to')
    if (from > to) throw new EtlError('BAD_RANGE', `--from ${options.from} is after --to ${options.to}; swap them`)
    const periods: IsoDate[] = []
    for (let p = from; p <= to; p = nextPeriodStart(p, unit)) periods.push(p)
    return periods
  }
  if (single) return [grain === 'weekly' ? weekStart(single) : single]
  // the last complete one: the period before the one holding today
  return [grain === 'weekly' ? addDays(weekStart(today), -7) : previousPeriodStart(monthStart(today), 'month')]
}

/** `etl rollup weekly|monthly`: the weekly or monthly job through the same runner as `etl run-job`. */
export async function rollup(grain: string, options: RollupOptions, command: Command): Promise<void> {
  if (grain !== 'weekly' && grain !== 'monthly') throw new EtlError('USAGE', `unknown rollup '${grain}'; use weekly or monthly`)
  rollupPeriods(grain, options, '2000-01-03') // bad flags are exit 2 before anything opens
  await withContext(command, async (ctx) => {
    const today = dateOf(ctx.now(), ctx.config.timezone)
    const unit = grain === 'weekly' ? 'week' : 'month'
    const asked = rollupPeriods(grain, options, today)
    // a period that has not ended is never rolled up: it would be PARTIAL naming days to come
    const periods = asked.filter((p) => nextPeriodStart(p, unit) <= today)
    const open = asked.filter((p) => !periods.includes(p))
    if (periods.length === 0) {
      throw new EtlError(
        'BAD_DATE',
        `the ${unit} of ${open[0]} has not ended yet in ${ctx.config.timezone} (today is ${today}); the latest ${unit} that can be rolled up starts ${rollupPeriods(grain, {}, today)[0]}`,
      )
    }
    const job = rollupJob(await ctx.registry(), grain)
    const env = await ctx.runEnv()
    if (open.length) print(`left out the ${unit}${open.length > 1 ? 's' : ''} of ${open.join(', ')}: not ended yet (today is ${today})`)
    const outcomes: RunOutcome[] = []
    for (const period of periods) outcomes.push(await runJob(env, { job, date: period, force: options.force }))
    reportOutcomes(outcomes, env.invocationId)
  })
}

interface MetricOptions {
  file?: string
  name?: string
  from?: IsoDate
  to?: IsoDate
  json?: boolean
  allowExpensive?: boolean
  statementTimeout?: number
}

const METRIC_ACTIONS = ['define', 'test', 'calc', 'list'] as const

function readDefinitionFile(file: string | undefined, action: string): MetricDefinition {
  if (!file) throw new EtlError('USAGE', `'etl metric ${action}' needs --file F (a JSON definition)`)
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    throw new EtlError('BAD_INPUT', `--file '${file}' cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new EtlError('BAD_INPUT', `${file}: is not JSON (${(error as Error).message.split('\n')[0]})`)
  }
  return parseDefinition(json, file)
}

function needRange(options: MetricOptions, action: string): { from: IsoDate; to: IsoDate } {
  if (!options.from || !options.to) throw new EtlError('USAGE', `'etl metric ${action}' needs --from D1 --to D2`)
  dateRange(options.from, options.to)
  return { from: options.from, to: options.to }
}

/** `etl metric define|test|calc|list`: custom metric definitions. Bad input is exit 2 before anything opens. */
export async function metric(action: string, options: MetricOptions, command: Command): Promise<void> {
  if (!(METRIC_ACTIONS as readonly string[]).includes(action)) {
    throw new EtlError('USAGE', `unknown metric action '${action}'; use one of ${METRIC_ACTIONS.join(', ')}`)
  }
  const def = action === 'define' || action === 'test' ? readDefinitionFile(options.file, action) : undefined
  const range = action === 'test' || action === 'calc' ? needRange(options, action) : undefined
  if (action === 'calc' && !options.name) throw new EtlError('USAGE', "'etl metric calc' needs --name N")
  const run = { timeoutMs: options.statementTimeout ?? METRIC_TIMEOUT_MS.default, allowExpensive: Boolean(options.allowExpensive) }
  const { checkDefinition } = await import('./custom/compile.js')
  const { targetsOf } = await import('../index.js')
  const store = await import('./custom/store.js')
  const { runMetric } = await import('./custom/execute.js')
  await withContext(command, async (ctx) => {
    const db = (await ctx.connections.warehouse()).db
    if (action === 'list') {
      const rows = await store.listDefinitions(db)
      if (options.json) return print(JSON.stringify(rows.map((r) => ({ ...r.definition, version: r.version, createdAt: r.created_at }))))
      if (rows.length === 0) return print("no custom metrics yet; add one with 'etl metric define --file F'")
      return print(
        table(
          ['name', 'version', 'type', 'source', 'visibility', 'active', 'formula'],
          rows.map((r) => [r.name, r.version, r.definition.metricType, r.definition.dataSource, r.definition.visibility, r.is_active ? 'yes' : 'no', r.definition.calculationFormula]),
        ),
      )
    }
    // the tables a custom metric may read: those the registered jobs write
    const allowed = targetsOf((await ctx.registry()).jobs)
    let current = def
    let version: number | undefined
    if (action === 'calc') {
      const stored = await store.latestDefinition(db, options.name!)
      if (!stored) throw new EtlError('BAD_INPUT', `--name '${options.name}' is not a defined metric; 'etl metric list' shows them`)
      current = parseDefinition(stored.definition, `stored metric '${stored.name}'`)
      version = stored.version
    }
    checkSource(current!, allowed, action === 'calc' ? `stored metric '${current!.name}'` : options.file)
    const columns = await store.sourceColumns(db, current!.dataSource)
    if (columns.size === 0) throw new EtlError('PENDING_MIGRATIONS', `the warehouse has no table ${current!.dataSource}; run 'etl migrate up'`)
    checkDefinition(current!, columns)
    if (action === 'define') {
      const stored = await store.defineMetric(db, current!)
      return print(stored.created ? `defined ${current!.name} version ${stored.version}` : `${current!.name} is unchanged (version ${stored.version})`)
    }
    const result = await runMetric(db, current!, columns, { ...range!, zone: ctx.config.timezone }, run)
    if (options.json) {
      return print(JSON.stringify({ name: current!.name, version: version ?? null, from: range!.from, to: range!.to, rows: result.rows }))
    }
    print(`${current!.name}${version ? ` v${version}` : ''} ${range!.from} .. ${range!.to}: cost class ${result.costClass} (EXPLAIN cost ${Math.round(result.cost)}), ${result.rows.length} row(s)`)
    if (result.rows.length) {
      const dims = current!.dimensions
      print(table([...dims, 'value'], result.rows.map((r) => [...dims.map((d) => String(r.dimensions[d] ?? '')), r.value])))
    }
  })
}
