import { sql, type Kysely } from 'kysely'
import { hasSecondStatement } from '../../db/read-only-query.js'
import { EtlError } from '../../errors.js'
import type { RegisteredJob } from '../job.js'
import { readOnly } from './read-only.js'
import { compileCheck, type TableColumns } from './compile.js'
import { checkName, type CheckDefinition } from './schema.js'
import type { CheckScope, ScopeContext } from './scope.js'

/** A table's columns from the catalog, or undefined if there is no such table (yet). */
export async function tableColumns(db: Kysely<any>, table: string): Promise<TableColumns | undefined> {
  const { rows } = await sql<{ name: string; type: string }>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a where a.attrelid = to_regclass(${table}) and a.attnum > 0 and not a.attisdropped
    order by a.attnum`.execute(db)
  return rows.length ? new Map(rows.map((r) => [r.name, r.type])) : undefined
}

const validated = new WeakSet<RegisteredJob>()

function bad(job: RegisteredJob, check: CheckDefinition, message: string): never {
  throw new EtlError('BAD_JOB_FILE', `${job.file}: check '${checkName(check)}': ${message}`)
}

/** The columns a check names on the scope's table. */
function namedColumns(check: CheckDefinition): string[] {
  switch (check.type) {
    case 'not_null':
    case 'unique':
      return check.columns
    case 'accepted_values':
    case 'relationships':
      return [check.column]
    default:
      return []
  }
}

/**
 * Checks a job's checks against the catalog, like the custom metric DSL's formulas: every column
 * and table they name exists, and an `expression` or `sql` check is valid SQL (the server plans it,
 * nothing runs). Throws BAD_JOB_FILE (exit 2) with one line naming the job file and the check. A
 * target that does not exist yet (a dimension before its first run) is checked at the run.
 */
export async function validateChecks(
  db: Kysely<any>,
  job: RegisteredJob,
  checks: readonly CheckDefinition[],
  scope: CheckScope | undefined,
  /** Before a command's runs: tables its jobs write, which may not exist until an earlier job of it ran. */
  options: { tablesToCome?: ReadonlySet<string> } = {},
): Promise<void> {
  if (checks.length === 0) return
  for (const check of checks) {
    if (!scope && check.type !== 'sql') bad(job, check, `a ${job.kind} job names no table its checks could read; use an sql check`)
    if (check.type === 'freshness' && !scope?.source) bad(job, check, `freshness is for jobs that read a source table (dimensions, table syncs), not a ${job.kind} job`)
    if (check.type === 'freshness') continue
  }
  if (!scope || validated.has(job)) return
  const columns = await tableColumns(db, scope.table)
  if (!columns) return
  const have = () => [...columns.keys()].join(', ')
  // a relationship to a table a job of this command makes first is checked again at the run
  let deferred = false
  for (const check of checks) {
    for (const c of namedColumns(check)) {
      if (!columns.has(c)) bad(job, check, `'${c}' is not a column of ${scope.table} (it has ${have()})`)
    }
    if (check.type === 'relationships') {
      const to = await tableColumns(db, check.to)
      if (!to && options.tablesToCome?.has(check.to)) {
        deferred = true
        continue
      }
      if (!to) bad(job, check, `there is no table ${check.to}`)
      if (!to.has(check.field)) bad(job, check, `'${check.field}' is not a column of ${check.to} (it has ${[...to.keys()].join(', ')})`)
    }
    if (check.type === 'expression' || check.type === 'sql') {
      let text: string
      try {
        text = compileCheck(check, scope, columns, { dateKey: null, from: null, to: null }).text
      } catch (error) {
        bad(job, check, (error as Error).message)
      }
      if (hasSecondStatement(text)) bad(job, check, "one statement only: the query goes on after a ';'")
      await explain(db, text).catch((error: unknown) => bad(job, check, (error as Error).message))
    }
  }
  // a job's checks and the catalog do not change within a process: once all of it was checked,
  // the command's preflight stands for every run of the job after it
  if (!deferred) validated.add(job)
}

/** Plans a statement without running it. */
async function explain(db: Kysely<any>, text: string): Promise<void> {
  await readOnly(db, (ro) => sql.raw(`explain ${text}`).execute(ro))
}

/** The job's file declares checks (read as loaded: no parse, so a cron tick can ask it of every job). */
export const declaredChecks = (job: RegisteredJob): readonly CheckDefinition[] => (job.definition as { checks?: CheckDefinition[] }).checks ?? []

/**
 * Before a command runs anything: the checks of every job it selected, against the warehouse's
 * catalog. A bad column stops the command with exit 2 before the first run starts.
 */
export async function preflightChecks(
  db: Kysely<any>,
  config: ScopeContext['config'],
  jobs: readonly RegisteredJob[],
  scopeOf: (job: RegisteredJob, ctx: ScopeContext) => CheckScope | undefined,
  /** Every job of the command, when `jobs` are some of them: the tables they write may not exist yet either. */
  among: readonly RegisteredJob[] = jobs,
): Promise<void> {
  const scopes = new Map(among.map((job) => [job, scopeOf(job, { job, target: null, bounds: null, runId: null, config })]))
  const tablesToCome = new Set([...scopes.values()].flatMap((s) => (s ? [s.table] : [])))
  for (const job of jobs) {
    const checks = declaredChecks(job)
    if (checks.length === 0) continue
    await validateChecks(db, job, checks, scopes.get(job), { tablesToCome })
  }
}
