import type http from 'node:http'
import type { ApiToken } from '../config.js'
import type { EtlContext } from '../engine/context.js'
import { exitCodeOf } from '../errors.js'
import { KINDS, RouteError, type Caller, type KindRoute } from '../kinds/index.js'
import { redact } from '../redact.js'
import { HttpError, readJsonObject } from './http-body.js'
import { bearerOf, sameSecret } from './tokens.js'

/**
 * The endpoints the kinds add to `etl serve` (the metrics admin API, docs/serve.md), kept apart
 * from serve.ts: who the caller is (ETL_ADMIN_TOKEN is the admin; `ETL_ADMIN_TOKENS` entries are
 * users with scopes), the route's scope, the JSON body, and the statuses: 400 bad input (one
 * message), 401 no or an unknown token, 403 a token without the scope or the right, 404, 405.
 */

const routes = (): KindRoute[] => Object.values(KINDS).flatMap((kind) => [...(kind.routes ?? [])])

/**
 * The caller a bearer header names: the admin for ETL_ADMIN_TOKEN, a configured API token's
 * user, or undefined. Every token is compared in constant time, so neither which one matched nor
 * a token's length leaks.
 */
export function callerOf(header: string | undefined, adminToken: string, tokens: readonly ApiToken[]): Caller | undefined {
  const bearer = bearerOf(header)
  const presented = bearer ?? ''
  let caller: Caller | undefined
  if (sameSecret(presented, adminToken)) caller = { admin: true, user: undefined, team: undefined, organization: undefined, scopes: [] }
  for (const t of tokens) {
    if (sameSecret(presented, t.token) && !caller) {
      caller = { admin: t.scopes.includes('admin'), user: t.user, team: t.team, organization: t.organization, scopes: t.scopes }
    }
  }
  return bearer !== undefined ? caller : undefined
}

/** Answers the request when its path is a kind's endpoint; false leaves it to serve.ts. */
export async function serveKindRoute(ctx: EtlContext, adminToken: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
  const matching = routes().filter((r) => r.path === url.pathname)
  if (matching.length === 0) return false
  try {
    const route = matching.find((r) => r.method === req.method || (r.method === 'GET' && req.method === 'HEAD'))
    if (!route) {
      res.setHeader('Allow', matching.map((r) => r.method).join(', '))
      return answer(res, 405, { error: `${url.pathname} takes ${matching.map((r) => r.method).join(' or ')}` })
    }
    const caller = callerOf(req.headers.authorization, adminToken, ctx.config.apiTokens)
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="nightshift"')
      return answer(res, 401, { error: 'missing or wrong bearer token' })
    }
    if (!caller.admin && !caller.scopes.includes(route.scope)) {
      return answer(res, 403, { error: `this token lacks the scope '${route.scope}' that ${route.method} ${url.pathname} needs` })
    }
    const body = route.method === 'POST' ? await readJsonObject(req) : undefined
    const warehouse = await ctx.connections.warehouse()
    const jobs = (await ctx.registry()).jobs
    const result = await route.handle({ query: url.searchParams, body, caller, db: warehouse.db, jobs, config: ctx.config, now: ctx.now() })
    return answer(res, result.status ?? 200, result.body)
  } catch (error) {
    const status = error instanceof HttpError || error instanceof RouteError ? error.status : statusOf(error)
    if (status >= 500) ctx.log.error({ err: ctx.config.debug ? error : undefined }, redact((error as Error).message))
    return answer(res, status, { error: redact(error instanceof Error ? error.message.split('\n')[0]! : String(error)) })
  }
}

function statusOf(error: unknown): number {
  const code = exitCodeOf(error)
  return code === 2 ? 400 : code === 3 ? 503 : 500
}

function answer(res: http.ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(`${JSON.stringify(body)}\n`)
  return true
}

