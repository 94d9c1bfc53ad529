import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import type { EtlContext } from '../engine/context.js'
import { assertEnded, lastEndedDay } from '../engine/ended.js'
import { dailySuccessRate, recentRuns } from '../engine/ledger/index.js'
import { runJob } from '../engine/runner.js'
import { consoleRoutes } from '../console/routes.js'
import { EtlError, exitCodeOf } from '../errors.js'
import { redact } from '../redact.js'
import { parseDate } from '../time/calendar.js'
import { HttpError, readJsonObject } from './http-body.js'
import { serveKindRoute } from './metrics-api.js'
import { prometheusMetrics } from './metrics.js'
import { tokenMatches } from './tokens.js'

/**
 * `etl serve`: a small admin endpoint for setups where something calls a URL instead of a
 * command. Every route but /healthz needs `Authorization: Bearer $ETL_ADMIN_TOKEN`.
 *
 *   POST /jobs/{name}/run   body {"date": "YYYY-MM-DD", "force": false}; answers when the run ends
 *   GET  /status            recent ledger rows, as `etl status --json` (?job=, ?limit=)
 *   GET  /status/summary    daily success rate of the last 7 days
 *   GET  /metrics           Prometheus text format
 *   GET  /healthz           200 when the warehouse answers, else 503; no token needed
 *   /metrics/…              the metrics admin API (src/ops/metrics-api.ts, docs/serve.md)
 *   /console/…              the run console's pages, behind a login form (docs/console.md)
 *
 * HTTP statuses follow the exit codes: 200 for 0, 500 for a FAILED or PARTIAL run (1), 400 for
 * bad input (2; 404 for an unknown job), 503 for the environment (3).
 */
export interface ServeOptions {
  readonly host: string
  readonly port: number
  readonly token: string
}

export interface AdminServer {
  readonly url: string
  close(): Promise<void>
}


const ROUTES: Array<{ pattern: RegExp; method: 'GET' | 'POST'; auth: boolean }> = [
  { pattern: /^\/healthz$/, method: 'GET', auth: false },
  { pattern: /^\/status$/, method: 'GET', auth: true },
  { pattern: /^\/status\/summary$/, method: 'GET', auth: true },
  { pattern: /^\/metrics$/, method: 'GET', auth: true },
  { pattern: /^\/jobs\/([^/]+)\/run$/, method: 'POST', auth: true },
]

export async function startAdminServer(ctx: EtlContext, options: ServeOptions): Promise<AdminServer> {
  const pages = consoleRoutes(ctx, options.token)
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (await pages.handle(req, res, url)) return // the run console: /console/… (src/console/routes.ts)
    // the kinds' endpoints (the metrics admin API) check their own tokens and scopes
    if (await serveKindRoute(ctx, options.token, req, res, url)) return
    const route = ROUTES.find((r) => r.pattern.test(url.pathname))
    if (!route) throw new HttpError(404, `no such endpoint: ${url.pathname}`)
    if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('Allow', route.method)
      throw new HttpError(405, `${url.pathname} takes ${route.method}`)
    }
    if (route.auth && !tokenMatches(req.headers.authorization, options.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="nightshift"')
      throw new HttpError(401, 'missing or wrong bearer token')
    }
    const warehouse = await ctx.connections.warehouse()
    switch (url.pathname) {
      case '/healthz':
        try {
          await sql`select 1`.execute(warehouse.db)
        } catch (error) {
          throw new HttpError(503, `warehouse unavailable: ${(error as Error).message}`)
        }
        return json(res, 200, { status: 'ok' })
      case '/status': {
        const limit = Number(url.searchParams.get('limit') ?? 20)
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'limit must be a whole number from 1 to 1000')
        const job = url.searchParams.get('job') ?? undefined
        if (job) (await ctx.registry()).get(job)
        const rows = await recentRuns(warehouse.db, { jobName: job, limit })
        return json(res, 200, rows.map((r) => ({ ...r, error_message: r.error_message && redact(r.error_message) })))
      }
      case '/status/summary':
        return json(res, 200, await dailySuccessRate(warehouse.db, { now: ctx.now(), timezone: ctx.config.timezone }))
      case '/metrics':
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(await prometheusMetrics(warehouse.db))
        return
    }
    const name = decodeURIComponent(route.pattern.exec(url.pathname)![1]!)
    const body = await readJson(req)
    const job = (await ctx.registry()).get(name)
    // without a date: the job's latest partition that has ended (last week for a weekly job)
    const date = body.date === undefined ? lastEndedDay(job.partition, ctx.now(), ctx.config.timezone) : parseDate(String(body.date), 'date')
    if (job.partition !== 'none') assertEnded([job], date, ctx.now(), ctx.config.timezone, 'date')
    const env = await ctx.runEnv()
    const outcome = await runJob(env, { job, date, force: body.force === true, parameters: { via: 'etl serve' } })
    const failed = outcome.status === 'FAILED' || outcome.status === 'PARTIAL'
    return json(res, failed ? 500 : 200, {
      job: outcome.job,
      target: outcome.target,
      status: outcome.status,
      runId: outcome.runId ?? null,
      invocationId: env.invocationId,
      rowsProcessed: outcome.result.rowsProcessed ?? 0,
      durationMs: outcome.durationMs,
      message: outcome.message ?? null,
    })
  }

  const server = http.createServer((req, res) => {
    const started = performance.now()
    handle(req, res)
      .catch((error) => {
        const status = error instanceof HttpError ? error.status : httpStatusOf(error)
        if (status >= 500) ctx.log.error({ err: ctx.config.debug ? error : undefined }, redact((error as Error).message))
        if (!res.headersSent) json(res, status, { error: redact(error instanceof Error ? error.message : String(error)) })
        else res.end()
      })
      .finally(() => {
        ctx.log.info({ method: req.method, path: req.url?.split('?')[0], status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request')
      })
  })
  server.requestTimeout = 0 // a triggered run may take long; the client decides how long to wait
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new EtlError('CONFIG', `etl serve cannot listen on ${options.host}:${options.port}: ${error.code ?? error.message}`)),
    )
    server.listen(options.port, options.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}

function httpStatusOf(error: unknown): number {
  if (error instanceof EtlError && error.code === 'UNKNOWN_JOB') return 404
  const code = exitCodeOf(error)
  return code === 2 ? 400 : code === 3 ? 503 : 500
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(`${JSON.stringify(body)}\n`)
}

async function readJson(req: http.IncomingMessage): Promise<{ date?: unknown; force?: unknown }> {
  const body = (await readJsonObject(req, '{"date": "YYYY-MM-DD", "force": false}')) ?? {}
  const unknown = Object.keys(body).filter((k) => k !== 'date' && k !== 'force')
  if (unknown.length) throw new HttpError(400, `unknown field '${unknown[0]}' in the body; it takes date and force`)
  const { date, force } = body as { date?: unknown; force?: unknown }
  if (date !== undefined && typeof date !== 'string') throw new HttpError(400, "'date' must be a string YYYY-MM-DD")
  if (force !== undefined && typeof force !== 'boolean') throw new HttpError(400, "'force' must be true or false")
  return { date, force }
}
