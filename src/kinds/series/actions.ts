import type { Command } from 'commander'
import type { JobRegistry } from '../../engine/registry.js'
import { runJob } from '../../engine/runner.js'
import { EtlError } from '../../errors.js'
import { activeTenants, parseCompanyId, parsePeriod, readSeries, type SeriesPeriod } from './time-series.js'
import { dateOf, type IsoDate } from '../../time/calendar.js'
import { withContext } from '../../cli/context.js'
import { print, table } from '../../cli/options.js'
import { reportOutcomes } from '../../cli/outcomes.js'

/** The series job `etl series` runs: the registry's one job of this kind. */
export function seriesJob(registry: JobRegistry) {
  const jobs = registry.ofKind('series')
  if (jobs.length === 0) throw new EtlError('UNKNOWN_JOB', "no series job; add a job file of kind 'series' under jobs/ or a folder of ETL_JOBS_PATH")
  if (jobs.length > 1) {
    throw new EtlError('USAGE', `'etl series' runs the one series job, and there are ${jobs.length} (${jobs.map((j) => j.name).join(', ')}); run one with 'etl run-job --job NAME'`)
  }
  return jobs[0]!
}

interface SeriesOptions {
  company?: string
  date?: IsoDate
  period?: string
  concurrency?: number
  json?: boolean
  force?: boolean
}

/** `etl series`: the series job for every active tenant, or one. */
export async function seriesRun(options: SeriesOptions, command: Command): Promise<void> {
  const company = options.company === undefined ? undefined : parseCompanyId(options.company)
  const period = options.period === undefined ? undefined : parsePeriod(options.period)
  if (options.json) throw new EtlError('USAGE', "--json is for 'etl series show'")
  await withContext(command, async (ctx) => {
    const today = dateOf(ctx.now(), ctx.config.timezone)
    if (options.date !== undefined && options.date > today) {
      throw new EtlError('BAD_DATE', `--date ${options.date} is after today (${today} in ${ctx.config.timezone}); a series window ends on a day that has begun`)
    }
    const job = seriesJob(await ctx.registry())
    const env = await ctx.runEnv()
    if (company !== undefined && !(await activeTenants(env.warehouse.db)).includes(company)) {
      throw new EtlError('BAD_INPUT', `--company ${company} is not an active tenant in dim_tenant; run 'etl sync-dimensions' or check the id`)
    }
    const parameters: Record<string, unknown> = {}
    if (company !== undefined) parameters.company = company
    if (period) parameters.period = period
    if (options.date !== undefined) parameters.endDate = options.date
    if (options.concurrency) parameters.concurrency = options.concurrency
    const outcome = await runJob(env, { job, force: options.force, parameters })
    reportOutcomes([outcome], env.invocationId)
  })
}

/** `etl series show --company ID [--period P] [--json]`: the tenant's chart rows of the latest window. */
export async function seriesShow(options: SeriesOptions, command: Command): Promise<void> {
  if (options.company === undefined) throw new EtlError('USAGE', "'etl series show' needs --company ID")
  if (options.date !== undefined) throw new EtlError('USAGE', "--date is for 'etl series', not 'etl series show'")
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
    print(table(['ts', 'series', 'value', 'running_sum', 'complete'], rows.map((r) => [r.ts, r.series, r.value, r.running_sum, r.is_complete ? 'yes' : 'no'])))
  })
}

