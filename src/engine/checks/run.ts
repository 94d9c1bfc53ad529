import { CompiledQuery, type Kysely } from 'kysely'
import { hasSecondStatement } from '../../db/read-only-query.js'
import { EtlError } from '../../errors.js'
import type { KindHandler } from '../../kinds/index.js'
import { redact } from '../../redact.js'
import { dateKey } from '../../time/calendar.js'
import type { JobContext, JobResult, RegisteredJob } from '../job.js'
import { medianRowsWritten } from '../ledger/row-history.js'
import { tableColumns, validateChecks } from './catalog.js'
import { readOnly } from './read-only.js'
import { compileCheck, compileFreshness, type Placeholders } from './compile.js'
import { checkName, ChecksSchema, type CheckDefinition } from './schema.js'
import type { CheckScope, ScopeContext } from './scope.js'
import { saveCheckResults } from './store.js'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'error'

export interface CheckResult {
  readonly name: string
  readonly type: CheckDefinition['type']
  readonly severity: 'error' | 'warn'
  /** pass; warn (a warn-level check failed); fail (an error-level one did); error (it could not run). */
  readonly status: CheckStatus
  readonly failingRows: number
  readonly sample: readonly string[]
  readonly message: string | null
  readonly durationMs: number
}

/** An error-level check failed: the run rolls back and is FAILED with this message; the results are saved after the rollback. */
export class ChecksFailed extends Error {
  constructor(
    message: string,
    readonly results: readonly CheckResult[],
    readonly run: { runId: string; job: string; target: string | null },
  ) {
    super(message)
    this.name = 'ChecksFailed'
  }
}

/** A job's checks, as validated when its file was loaded. */
export function checksOf(job: RegisteredJob): CheckDefinition[] {
  const checks = (job.definition as { checks?: unknown }).checks
  return checks === undefined ? [] : ChecksSchema.parse(checks)
}

export function scopeOf(handler: KindHandler, ctx: ScopeContext): CheckScope | undefined {
  return handler.checkScope?.(ctx)
}

export const blocking = (r: CheckResult) => r.status === 'fail' || (r.status === 'error' && r.severity === 'error')

function describe(r: CheckResult): string {
  if (r.status === 'error') return `check '${r.name}' could not run: ${r.message}`
  const sample = r.sample.length ? `; e.g. ${r.sample.join(', ')}` : ''
  return `check '${r.name}' failed: ${r.message ?? `${r.failingRows} failing rows`}${sample}`
}

/**
 * The kind's work between its checks, inside the run's transaction: freshness of the source
 * first (nothing written if it fails), then the work, then every other check on what the run
 * wrote. An error-level failure throws ChecksFailed, so the runner rolls the partition back; the
 * results of a run that commits are written in its transaction, warnings added to its result.
 */
export async function withChecks(ctx: JobContext, handler: KindHandler): Promise<JobResult | void> {
  const checks = checksOf(ctx.job)
  if (checks.length === 0) return handler.execute(ctx)
  const scopeCtx: ScopeContext = { job: ctx.job, target: ctx.target, bounds: ctx.bounds, runId: ctx.runId, config: ctx.config, source: ctx.source }
  const scope = scopeOf(handler, scopeCtx)
  const run = { runId: ctx.runId, job: ctx.job.name, target: ctx.target }
  const results: CheckResult[] = []
  for (const check of checks) {
    if (check.type === 'freshness') results.push(await runFreshness(check, scope, ctx.now))
  }
  const stop = () => {
    const failed = results.filter(blocking)
    if (failed.length) throw new ChecksFailed(failed.map(describe).join('; '), results, run)
  }
  stop()
  const jobResult = (await handler.execute(ctx)) ?? {}
  if (jobResult.skipped) return jobResult
  results.push(...(await runChecks(ctx.db, ctx.job, checks, scope, placesOf(ctx), ctx.runId)))
  stop()
  await saveCheckResults(ctx.db, run, 'run', results)
  const warned = results.filter((r) => r.status !== 'pass')
  if (!warned.length) return jobResult
  return { ...jobResult, warnings: [...(jobResult.warnings ?? []), ...warned.map((r) => ({ unit: `check ${r.name}`, warning: describe(r).replace(/^check '[^']*' /, '') }))] }
}

export function placesOf(ctx: Pick<JobContext, 'target' | 'bounds'>): Placeholders {
  return { dateKey: ctx.target ? dateKey(ctx.target) : null, from: ctx.bounds?.from ?? null, to: ctx.bounds?.to ?? null }
}

/** Every check but freshness on `db` (the run's transaction, or a read-only one for `etl test`), each in a read-only savepoint. */
export async function runChecks(
  db: Kysely<any>,
  job: RegisteredJob,
  checks: readonly CheckDefinition[],
  scope: CheckScope | undefined,
  places: Placeholders,
  runId: string | null,
): Promise<CheckResult[]> {
  const rest = checks.filter((c) => c.type !== 'freshness')
  if (rest.length === 0) return []
  // the target exists now: its columns are checked, as a load would have if it had existed then
  await validateChecks(db, job, rest, scope)
  const columns = scope ? ((await tableColumns(db, scope.table)) ?? new Map<string, string>()) : new Map<string, string>()
  const results: CheckResult[] = []
  for (const check of rest) {
    const t0 = performance.now()
    const severity = check.severity ?? 'error'
    const result = (status: CheckStatus, failingRows: number, sample: readonly string[], message: string | null): CheckResult => ({
      name: checkName(check),
      type: check.type,
      severity,
      status,
      failingRows,
      sample,
      message,
      durationMs: Math.round(performance.now() - t0),
    })
    if (!scope && check.type !== 'sql') throw new EtlError('BAD_JOB_FILE', `${job.file}: check '${checkName(check)}': a ${job.kind} job names no table its checks could read`)
    const compiled = compileCheck(check as Exclude<CheckDefinition, { type: 'freshness' }>, scope ?? { table: 'pg_catalog.pg_class', where: 'false' }, columns, places)
    if (hasSecondStatement(compiled.text)) {
      results.push(result('error', 0, [], "one statement only: the query goes on after a ';'"))
      continue
    }
    let row: { failing: string | number; sample: unknown } | undefined
    try {
      row = await readOnly(db, async (ro) => (await ro.executeQuery<{ failing: string | number; sample: unknown }>(CompiledQuery.raw(compiled.text, [...compiled.parameters]))).rows[0])
    } catch (error) {
      results.push(result('error', 0, [], redact((error as Error).message)))
      continue
    }
    const failing = Number(row?.failing ?? 0)
    const sample = (typeof row?.sample === 'string' ? JSON.parse(row.sample) : (row?.sample ?? [])) as string[]
    const failed = severity === 'error' ? 'fail' : 'warn'
    if (check.type === 'row_count') {
      const problem = await rowCountProblem(db, job, check, failing, runId)
      results.push(problem ? result(failed, failing, [], problem) : result('pass', 0, [], `${failing} rows`))
      continue
    }
    results.push(failing > 0 ? result(failed, failing, sample, `${failing} failing row${failing === 1 ? '' : 's'}`) : result('pass', 0, [], null))
  }
  return results
}

async function rowCountProblem(db: Kysely<any>, job: RegisteredJob, check: Extract<CheckDefinition, { type: 'row_count' }>, count: number, runId: string | null): Promise<string | undefined> {
  if (check.min !== undefined && count < check.min) return `${count} rows, fewer than ${check.min}`
  if (check.max !== undefined && count > check.max) return `${count} rows, more than ${check.max}`
  if (check.vsMedian !== undefined) {
    const runs = check.runs ?? 7
    const median = await medianRowsWritten(db, job.name, runs, runId)
    if (median !== undefined && count < check.vsMedian * median) {
      return `${count} rows, below ${check.vsMedian} × the median ${median} of the last ${runs} runs`
    }
  }
  return undefined
}

/** Source freshness: the newest value of `column` in the source, read before anything is written. */
export async function runFreshness(check: Extract<CheckDefinition, { type: 'freshness' }>, scope: CheckScope | undefined, now: Date): Promise<CheckResult> {
  const t0 = performance.now()
  const severity = check.severity ?? 'error'
  const base = { name: checkName(check), type: check.type, severity, sample: [] as string[] }
  const ms = () => Math.round(performance.now() - t0)
  if (!scope?.source) return { ...base, status: 'error', failingRows: 0, message: 'this job reads no source table', durationMs: ms() }
  try {
    const { text, parameters } = compileFreshness(check, scope.source.relation, now)
    const { rows } = await (await scope.source.db()).executeQuery<{ newest: string | null; stale: boolean }>(CompiledQuery.raw(text, [...parameters]))
    const row = rows[0]
    if (!row?.stale) return { ...base, status: 'pass', failingRows: 0, message: `newest ${row?.newest}`, durationMs: ms() }
    const message = row.newest === null ? `the source has no ${check.column} at all` : `the newest ${check.column} is ${row.newest}, older than ${check.maxAge}`
    return { ...base, status: severity === 'error' ? 'fail' : 'warn', failingRows: 0, message, durationMs: ms() }
  } catch (error) {
    return { ...base, status: 'error', failingRows: 0, message: redact((error as Error).message), durationMs: ms() }
  }
}

/** After the rollback of a run its checks failed: their results, on the session's connection. */
export async function saveFailedChecks(db: Kysely<any>, error: unknown): Promise<void> {
  if (error instanceof ChecksFailed) await saveCheckResults(db, error.run, 'run', error.results)
}
