import { sql } from 'kysely'
import { EtlError } from '../../errors.js'
import { targetsOf } from '../index.js'
import { RouteError, type RouteRequest } from '../kind.js'
import { addDays, dateOf, dateRange, monthStart, parseDate, parseMonth, weekStart, type IsoDate } from '../../time/calendar.js'
import { checkDefinition } from './custom/compile.js'
import { checkSource, parseDefinition, type MetricDefinition } from './custom/definition.js'
import { runMetric } from './custom/execute.js'
import { METRIC_TIMEOUT_MS } from './custom/timeout.js'
import { defineMetric, latestDefinition, listDefinitions, sourceColumns, type StoredDefinition } from './custom/store.js'
import { canChange, canSee, ownerOf } from './custom/visibility.js'

/**
 * The metrics admin API of `etl serve` (docs/serve.md): the weekly and monthly rollups, and the
 * custom metric definitions with the same validation and limits as `etl metric define|test|calc`.
 * Visibility is enforced here: a caller lists and calculates only the metrics it may see.
 */

const bad = (message: string): never => {
  throw new EtlError('BAD_INPUT', message)
}

const MAX_ROWS = 10_000
const DEFAULT_ROWS = 1_000

function only(query: URLSearchParams, names: readonly string[]): void {
  for (const key of query.keys()) if (!names.includes(key)) bad(`unknown query parameter '${key}'; this endpoint takes ${names.join(', ')}`)
}

function limitOf(query: URLSearchParams): number {
  const text = query.get('limit')
  if (text === null) return DEFAULT_ROWS
  const n = Number(text)
  if (!/^[0-9]{1,6}$/.test(text) || n < 1 || n > MAX_ROWS) bad(`limit '${text}' must be a whole number from 1 to ${MAX_ROWS}`)
  return n
}

function tenantOf(query: URLSearchParams): number | undefined {
  const text = query.get('tenant')
  if (text === null) return undefined
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) bad(`tenant '${text}' is not a tenant id; give a positive integer such as 42`)
  return Number(text)
}

/** The rollup rows of `table` for periods from..to (period starts), oldest first, as JSON objects. */
async function periodRows(request: RouteRequest, table: 'weekly_metrics' | 'monthly_metrics', column: 'week_start' | 'month_start', from: IsoDate, to: IsoDate) {
  if (from > to) bad(`from ${from} is after to ${to}; swap them`)
  const tenant = tenantOf(request.query)
  const limit = limitOf(request.query)
  const { rows } = await sql<{ r: Record<string, unknown> }>`
    select to_jsonb(m) as r from ${sql.table(table)} m
    where ${sql.ref(column)} >= cast(${from} as date) and ${sql.ref(column)} <= cast(${to} as date)
      and (cast(${tenant ?? null} as bigint) is null or tenant_id = cast(${tenant ?? null} as bigint))
    order by ${sql.ref(column)}, tenant_id limit ${limit}`.execute(request.db)
  return rows.map((row) => (typeof row.r === 'string' ? JSON.parse(row.r) : row.r))
}

/** GET /metrics/weekly?from=D&to=D&tenant=ID&limit=N: weeks (any day of each, Monday start); default the last 12 weeks. */
export async function weekly(request: RouteRequest) {
  only(request.query, ['from', 'to', 'tenant', 'limit'])
  const today = dateOf(request.now, request.config.timezone)
  const to = weekStart(request.query.has('to') ? parseDate(request.query.get('to')!, 'to') : today)
  const from = weekStart(request.query.has('from') ? parseDate(request.query.get('from')!, 'from') : addDays(to, -7 * 11))
  return { body: { from, to, rows: await periodRows(request, 'weekly_metrics', 'week_start', from, to) } }
}

/** GET /metrics/monthly?from=YYYY-MM&to=YYYY-MM&tenant=ID&limit=N: months; default the last 12. */
export async function monthly(request: RouteRequest) {
  only(request.query, ['from', 'to', 'tenant', 'limit'])
  const today = dateOf(request.now, request.config.timezone)
  const to = request.query.has('to') ? parseMonth(request.query.get('to')!, 'to') : monthStart(today)
  let from = request.query.has('from') ? parseMonth(request.query.get('from')!, 'from') : to
  if (!request.query.has('from')) for (let i = 0; i < 11; i++) from = monthStart(addDays(from, -1))
  return { body: { from, to, rows: await periodRows(request, 'monthly_metrics', 'month_start', from, to) } }
}

function shown(stored: StoredDefinition) {
  return {
    ...stored.definition,
    version: stored.version,
    isActive: stored.is_active,
    createdAt: stored.created_at,
    owner: { user: stored.owner_user, team: stored.owner_team, organization: stored.owner_organization },
  }
}

/** GET /metrics/custom-definitions: the latest version of every metric the caller may see. */
export async function listCustom(request: RouteRequest) {
  only(request.query, [])
  const visible = (await listDefinitions(request.db)).filter((d) => canSee(request.caller, d, d.definition.visibility))
  return { body: visible.map(shown) }
}

/** Parses and checks a definition as `etl metric define` does: the schema, the allow-list, the source's columns. */
async function checked(request: RouteRequest, json: unknown, what: string): Promise<MetricDefinition> {
  const def = parseDefinition(json, what)
  checkSource(def, targetsOf(request.jobs), what)
  const columns = await sourceColumns(request.db, def.dataSource)
  if (columns.size === 0) bad(`${what}: field 'dataSource' '${def.dataSource}' is written by a job but not in the warehouse yet; run that job first`)
  checkDefinition(def, columns)
  return def
}

/** POST /metrics/custom-definitions, the body a definition as in a file: 201 a new version, 200 unchanged. */
export async function defineCustom(request: RouteRequest) {
  const def = await checked(request, request.body, 'the body')
  const latest = await latestDefinition(request.db, def.name)
  if (latest && !canChange(request.caller, latest)) {
    throw new RouteError(403, `metric '${def.name}' belongs to ${latest.owner_user ? `user '${latest.owner_user}'` : 'the operators'}; only its owner or an admin may change it`)
  }
  const stored = await defineMetric(request.db, def, latest && request.caller.admin ? latest : ownerOf(request.caller))
  return { status: stored.created ? 201 : 200, body: { name: def.name, version: stored.version, created: stored.created } }
}

const CALCULATE_FIELDS = ['name', 'definition', 'from', 'to', 'allowExpensive', 'statementTimeoutMs']

/**
 * POST /metrics/calculate {name | definition, from, to, allowExpensive?, statementTimeoutMs?}: a
 * stored metric the caller may see (as `etl metric calc`) or a definition not stored (as
 * `etl metric test`), read-only, under the statement timeout and the EXPLAIN cost limit.
 */
export async function calculate(request: RouteRequest) {
  const body = request.body ?? bad('the body must be a JSON object: {"name": "…", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}')
  const unknown = Object.keys(body).find((k) => !CALCULATE_FIELDS.includes(k))
  if (unknown) bad(`unknown field '${unknown}' in the body; it takes ${CALCULATE_FIELDS.join(', ')}`)
  if ((body.name === undefined) === (body.definition === undefined)) bad("give either 'name' (a stored metric) or 'definition' (one to test), not both or neither")
  if (typeof body.from !== 'string' || typeof body.to !== 'string') bad("'from' and 'to' are required, as strings YYYY-MM-DD")
  dateRange(parseDate(body.from as string, 'from'), parseDate(body.to as string, 'to'))
  if (body.allowExpensive !== undefined && typeof body.allowExpensive !== 'boolean') bad("'allowExpensive' must be true or false")
  const timeout = body.statementTimeoutMs ?? METRIC_TIMEOUT_MS.default
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > METRIC_TIMEOUT_MS.max) {
    bad(`'statementTimeoutMs' must be a whole number of milliseconds from 1 to ${METRIC_TIMEOUT_MS.max}`)
  }
  let def: MetricDefinition
  let version: number | null = null
  if (body.name !== undefined) {
    if (typeof body.name !== 'string') bad("'name' must be a string")
    const stored = await latestDefinition(request.db, body.name as string)
    if (!stored) throw new RouteError(404, `'${body.name}' is not a defined metric; GET /metrics/custom-definitions lists them`)
    if (!canSee(request.caller, stored, stored.definition.visibility)) {
      throw new RouteError(403, `metric '${stored.name}' is ${stored.definition.visibility}${stored.definition.visibility === 'PRIVATE' ? ' to its owner' : ''}; this token may not read it`)
    }
    def = await checked(request, stored.definition, `stored metric '${stored.name}'`)
    version = stored.version
  } else {
    def = await checked(request, body.definition, "field 'definition'")
  }
  const columns = await sourceColumns(request.db, def.dataSource)
  const range = { from: body.from as string, to: body.to as string, zone: request.config.timezone }
  const result = await runMetric(request.db, def, columns, range, { timeoutMs: timeout as number, allowExpensive: body.allowExpensive === true })
  return { body: { name: def.name, version, from: range.from, to: range.to, costClass: result.costClass, cost: Math.round(result.cost), rows: result.rows } }
}
