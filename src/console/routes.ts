import { randomBytes } from 'node:crypto'
import type http from 'node:http'
import type { EtlContext } from '../engine/context.js'
import { assertEnded, lastEndedDay } from '../engine/ended.js'
import { failedPairs, retry } from '../engine/retry.js'
import { runJob } from '../engine/runner.js'
import { EtlError, exitCodeOf } from '../errors.js'
import { redact } from '../redact.js'
import { parseDate } from '../time/calendar.js'
import { html } from './html.js'
import { liveLinks } from './links.js'
import { loadConsole, readCacheStats } from './model/load.js'
import { renderDocument } from './pages/layout.js'
import { renderPage, type PageName } from './render.js'
import { readBodyText } from '../ops/http-body.js'
import { sameSecret, tokenMatches } from '../ops/tokens.js'
import { clearedCookie, csrfOk, Sessions, sessionCookie } from './session.js'

/**
 * The run console's routes on `etl serve` (src/ops/serve.ts hands over every path under
 * /console). Pages need a login session (or the bearer token, for scripts); every POST needs the
 * session and its CSRF token. Everything a page shows is escaped (src/console/html.ts).
 */
export interface ConsoleRoutes {
  /** Answers the request when it is the console's; false when it is not. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>
}

const MAX_FORM = 16 * 1024
const PAGES: Record<string, PageName> = { '/console/partitions': 'partitions', '/console/runs': 'runs', '/console/lineage': 'lineage', '/console/health': 'health' }

export function consoleRoutes(ctx: EtlContext, token: string): ConsoleRoutes {
  const sessions = new Sessions()

  const page = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, name: PageName, job?: string) => {
    const session = sessions.of(req)
    const from = dateParam(url, 'from')
    const to = dateParam(url, 'to')
    if (from && to && from > to) throw new EtlError('BAD_RANGE', `from ${from} is after to ${to}; swap them`)
    const warehouse = await ctx.connections.warehouse()
    const registry = await ctx.registry({ warnBroken: false })
    if (job) registry.get(job)
    const model = await loadConsole({
      db: warehouse.db,
      registry,
      now: ctx.now(),
      timezone: ctx.config.timezone,
      from,
      to,
      page: name,
      job,
      cache: name === 'health' ? () => readCacheStats(ctx.config, ctx.log) : undefined,
    })
    const nonce = randomBytes(16).toString('base64')
    const filter = { job: url.searchParams.get('job') ?? undefined, kind: url.searchParams.get('kind') ?? undefined }
    const partition = dateParam(url, 'partition')
    send(res, 200, renderPage(model, { links: liveLinks, csrf: session?.csrf }, name, { job, partition, nonce, filter }), nonce)
  }

  const authorised = (req: http.IncomingMessage) => sessions.of(req) !== undefined || tokenMatches(req.headers.authorization, token)

  return {
    async handle(req, res, url) {
      const path = url.pathname.replace(/\/+$/, '') || '/'
      if (path === '/' && req.method === 'GET') {
        redirect(res, '/console/partitions')
        return true
      }
      if (path !== '/console' && !path.startsWith('/console/')) return false
      try {
        await route(req, res, url, path)
      } catch (error) {
        const status = error instanceof EtlError && error.code === 'UNKNOWN_JOB' ? 404 : exitCodeOf(error) === 2 ? 400 : exitCodeOf(error) === 3 ? 503 : 500
        if (status >= 500) ctx.log.error(redact((error as Error).message))
        if (!res.headersSent) sendMessage(res, status, 'Something went wrong', redact((error as Error).message))
        else res.end()
      }
      return true
    },
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, path: string): Promise<void> {
    const method = req.method === 'HEAD' ? 'GET' : req.method
    if (path === '/console/login') {
      if (method === 'GET') return sessions.of(req) ? redirect(res, '/console/partitions') : loginPage(res, 200)
      if (method !== 'POST') return sendMessage(res, 405, 'Not allowed', 'use GET or POST')
      const form = await readForm(req)
      if (!sameSecret(form.get('token') ?? '', token)) return loginPage(res, 401, 'That is not the admin token (ETL_ADMIN_TOKEN).')
      const { id } = sessions.create()
      res.setHeader('Set-Cookie', sessionCookie(id))
      return redirect(res, '/console/partitions')
    }
    if (method === 'POST') {
      const session = sessions.of(req)
      const form = await readForm(req)
      if (!session) return sendMessage(res, 401, 'Not logged in', 'log in first: /console/login')
      if (!csrfOk(req, session, form)) return sendMessage(res, 403, 'Refused', 'this form did not come from a console page of this server (CSRF check failed); reload the page and try again')
      if (path === '/console/logout') {
        sessions.end(session.id)
        res.setHeader('Set-Cookie', clearedCookie())
        return redirect(res, '/console/login')
      }
      const run = /^\/console\/jobs\/([^/]+)\/run$/.exec(path)
      if (run) return runFromForm(res, decodeURIComponent(run[1]!), form)
      const again = /^\/console\/runs\/([^/]+)\/retry$/.exec(path)
      if (again) return retryRun(res, decodeURIComponent(again[1]!))
      return sendMessage(res, 404, 'Not found', `no such form: ${path}`)
    }
    if (method !== 'GET') return sendMessage(res, 405, 'Not allowed', `${path} takes GET`)
    if (!authorised(req)) return redirect(res, '/console/login')
    if (path === '/console') return redirect(res, '/console/partitions')
    const name = PAGES[path]
    if (name) return page(req, res, url, name)
    const job = /^\/console\/jobs\/([^/]+)$/.exec(path)
    if (job) return page(req, res, url, 'job', decodeURIComponent(job[1]!))
    return sendMessage(res, 404, 'Not found', `no such page: ${path}`)
  }

  async function runFromForm(res: http.ServerResponse, name: string, form: URLSearchParams): Promise<void> {
    const job = (await ctx.registry()).get(name)
    const asked = form.get('date')
    const date = asked ? parseDate(asked, 'date') : lastEndedDay(job.partition, ctx.now(), ctx.config.timezone)
    if (job.partition !== 'none') assertEnded([job], date, ctx.now(), ctx.config.timezone, 'date')
    // what the page did, in the CLI's words: the Runs page names the invocation by it
    const env = { ...(await ctx.runEnv()), command: 'etl run-job' }
    await runJob(env, { job, date, force: form.get('force') === 'true', parameters: { via: 'console' } })
    redirect(res, `/console/runs#run-${env.invocationId}`)
  }

  async function retryRun(res: http.ServerResponse, runId: string): Promise<void> {
    const env = { ...(await ctx.runEnv()), command: 'etl retry' }
    const pairs = await failedPairs(env, { runId })
    if (pairs.length === 0) return sendMessage(res, 200, 'Nothing to retry', `run ${runId} has no failed pair that is not SUCCESS since`)
    await retry(env, await ctx.registry(), pairs)
    redirect(res, `/console/runs#run-${env.invocationId}`)
  }
}

function dateParam(url: URL, name: string): string | undefined {
  const v = url.searchParams.get(name)
  return v ? parseDate(v, name) : undefined
}

const SECURITY_HEADERS = (nonce?: string): Record<string, string> => ({
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
})

function send(res: http.ServerResponse, status: number, body: string, nonce?: string): void {
  res.writeHead(status, SECURITY_HEADERS(nonce))
  res.end(body)
}

function redirect(res: http.ServerResponse, to: string): void {
  res.writeHead(303, { Location: to, 'Cache-Control': 'no-store' })
  res.end()
}

function loginPage(res: http.ServerResponse, status: number, error?: string): void {
  const nonce = randomBytes(16).toString('base64')
  const body = html`<div class="login"><form method="post" action="/console/login" id="login"><h1>nightshift run console</h1>
<label for="token">admin token (ETL_ADMIN_TOKEN)</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${error ? html`<p class="error">${error}</p>` : ''}<button type="submit">log in</button></form></div>`
  send(res, status, renderDocument({ title: 'log in', sections: [{ id: 'login', nav: 'partitions', title: '', body }], env: { links: liveLinks }, generatedAt: new Date(), nonce }), nonce)
}

function sendMessage(res: http.ServerResponse, status: number, title: string, message: string): void {
  const nonce = randomBytes(16).toString('base64')
  const body = html`<p class="${status >= 400 ? 'error' : ''}" id="message">${message}</p><p><a href="/console/partitions">back to the console</a></p>`
  send(res, status, renderDocument({ title, sections: [{ id: 'message-page', nav: 'partitions', title, body }], env: { links: liveLinks }, generatedAt: new Date(), nonce }), nonce)
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBodyText(req, MAX_FORM, (n) => new EtlError('BAD_INPUT', `the form is larger than ${n} bytes`)))
}
