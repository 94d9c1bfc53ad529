import fs from 'node:fs'
import type { Command } from 'commander'
import { runJob, type RunOutcome } from '../../engine/runner.js'
import { EtlError } from '../../errors.js'
import { parseDefinition, type MetricDefinition } from './custom/definition.js'
import { previousPeriodStart } from './periods.js'
import { activeTenants, parseCompanyId, parsePeriod, readSeries, type SeriesPeriod } from '../series/time-series.js'
import { addDays, dateOf, dateRange, monthStart, nextPeriodStart, parseDate, parseMonth, weekStart, type IsoDate } from '../../time/calendar.js'
import { withContext } from '../../cli/context.js'
import { print, table } from '../../cli/options.js'
import { reportOutcomes } from '../../cli/outcomes.js'


interface RollupOptions {
  week?: IsoDate
  month?: IsoDate
  from?: string
  to?: string
  force?: boolean
}

const ROLLUP_JOBS = { weekly: 'aggregate_weekly_metrics', monthly: 'aggregate_monthly_metrics' } as const

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
    const job = (await ctx.registry()).get(ROLLUP_JOBS[grain])
    const env = await ctx.runEnv()
    if (open.length) print(`left out the ${unit}${open.length > 1 ? 's' : ''} of ${open.join(', ')}: not ended yet (today is ${today})`)
    const outcomes: RunOutcome[] = []
    for (const period of periods) outcomes.push(await runJob(env, { job, date: period, force: options.force }))
    reportOutcomes(outcomes, env.invocationId)
  })
}

interface SeriesOptions {
  company?: string
  period?: string
  concurrency?: number
  json?: boolean
  force?: boolean
}

/** `etl series`: populate_tenant_time_series for every active tenant, or one. */
export async function seriesRun(options: SeriesOptions, command: Command): Promise<void> {
  const company = options.company === undefined ? undefined : parseCompanyId(options.company)
  const period = options.period === undefined ? undefined : parsePeriod(options.period)
  if (options.json) throw new EtlError('USAGE', "--json is for 'etl series show'")
  await withContext(command, async (ctx) => {
    const job = (await ctx.registry()).get('populate_tenant_time_series')
    const env = await ctx.runEnv()
    if (company !== undefined && !(await activeTenants(env.warehouse.db)).includes(company)) {
      throw new EtlError('BAD_INPUT', `--company ${company} is not an active tenant in dim_tenant; run 'etl sync-dimensions' or check the id`)
    }
    const parameters: Record<string, unknown> = {}
    if (company !== undefined) parameters.company = company
    if (period) parameters.period = period
    if (options.concurrency) parameters.concurrency = options.concurrency
    const outcome = await runJob(env, { job, force: options.force, parameters })
    reportOutcomes([outcome], env.invocationId)
  })
}

/** `etl series show --company ID [--period P] [--json]`: the tenant's chart rows of the latest window. */
export async function seriesShow(options: SeriesOptions, command: Command): Promise<void> {
  if (options.company === undefined) throw new EtlError('USAGE', "'etl series show' needs --company ID")
  const company = parseCompanyId(options.company)
  const period: SeriesPeriod = options.period === undefined ? 'monthly' : parsePeriod(options.period)
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse()
    const rows = await readSeries(warehouse.db, company, period)
    if (options.json) {
      print(JSON.stringify(rows))
      return
    }
    if (rows.length === 0) {
      print(`no ${period} series for tenant ${company} yet; run 'etl series --company ${company}'`)
      return
    }
    print(`tenant ${company}, ${period} window from ${rows[0]!.window_start} (${rows[0]!.granularity} buckets)`)
    print(table(['ts', 'series', 'value', 'running_sum'], rows.map((r) => [r.ts, r.series, r.value, r.running_sum])))
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
  const run = { timeoutMs: options.statementTimeout ?? 30_000, allowExpensive: Boolean(options.allowExpensive) }
  const { checkDefinition } = await import('./custom/compile.js')
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
    let current = def
    let version: number | undefined
    if (action === 'calc') {
      const stored = await store.latestDefinition(db, options.name!)
      if (!stored) throw new EtlError('BAD_INPUT', `--name '${options.name}' is not a defined metric; 'etl metric list' shows them`)
      current = parseDefinition(stored.definition, `stored metric '${stored.name}'`)
      version = stored.version
    }
    const columns = await store.sourceColumns(db, current!.dataSource)
    if (columns.size === 0) throw new EtlError('PENDING_MIGRATIONS', `the warehouse has no table ${current!.dataSource}; run 'etl migrate up'`)
    checkDefinition(current!, columns)
    if (action === 'define') {
      const stored = await store.defineMetric(db, current!)
      return print(stored.created ? `defined ${current!.name} version ${stored.version}` : `${current!.name} is unchanged (version ${stored.version})`)
    }
    const result = await runMetric(db, current!, columns, range!, run)
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
