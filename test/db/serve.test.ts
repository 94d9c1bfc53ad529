import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenMatches } from '../../src/ops/tokens.js'
import { errorLines, etl, startServe } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

/**
 * `etl serve` as a subprocess on a free port of 127.0.0.1, called with fetch. The server holds
 * the warehouse for its lifetime (on PGlite, the data folder), so this file opens nothing else
 * on it while the server runs. `--exit-after` bounds it even if the test dies.
 */
let tw: TestWarehouse
const TOKEN = 'test-token-0123456789abcdef'

beforeAll(async () => {
  tw = await createTestWarehouse()
})

afterAll(async () => {
  await tw?.drop()
})

async function startServer(options: { exitAfter?: number; env?: Record<string, string> } = {}) {
  return startServe({ ...tw.env, ETL_ADMIN_TOKEN: TOKEN, ...options.env }, options.exitAfter ?? 120)
}

describe('etl serve', () => {
  it('refuses to start without ETL_ADMIN_TOKEN: exit 3, one line', async () => {
    const result = await etl(['serve', '--port', '0'], tw.env)
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(errorLines(result.stderr)[0]).toMatch(/ETL_ADMIN_TOKEN is not set/)
  })

  it.each([
    ['a port out of range', ['--port', '70000'], /--port/],
    ['a port that is not a number', ['--port', 'http'], /--port/],
  ])('refuses %s with exit 2 and one line', async (_what, flags, message) => {
    const result = await etl(['serve', ...flags], { ...tw.env, ETL_ADMIN_TOKEN: TOKEN })
    expect(result.code).toBe(2)
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(errorLines(result.stderr)[0]).toMatch(message)
  })

  it('compares bearer tokens exactly', () => {
    expect(tokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true)
    expect(tokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true)
    expect(tokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false)
    expect(tokenMatches(TOKEN, TOKEN)).toBe(false)
    expect(tokenMatches(undefined, TOKEN)).toBe(false)
    expect(tokenMatches('Bearer ', TOKEN)).toBe(false)
  })

  it('runs a job on POST, serves status, health and Prometheus metrics, and stops on SIGTERM', async () => {
    const server = await startServer()
    const auth = { Authorization: `Bearer ${TOKEN}` }
    const call = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
    const run = (name: string, body: unknown, headers: Record<string, string> = auth) =>
      call(`/jobs/${name}/run`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
    try {
      const health = await call('/healthz')
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'ok' })

      for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: TOKEN }] as Array<Record<string, string>>) {
        const denied = await call('/status', { headers })
        expect(denied.status).toBe(401)
        expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/)
      }
      expect((await run('fx_write', { date: '2025-05-01' }, {})).status).toBe(401)

      const first = await run('fx_write', { date: '2025-05-01' })
      expect(first.status).toBe(200)
      expect(await first.json()).toMatchObject({ job: 'fx_write', target: '2025-05-01', status: 'SUCCESS', rowsProcessed: 100 })
      expect(await (await run('fx_write', { date: '2025-05-01' })).json()).toMatchObject({ status: 'SKIPPED' })
      expect(await (await run('fx_write', { date: '2025-05-01', force: true })).json()).toMatchObject({ status: 'SUCCESS' })

      const unknown = await run('nope', { date: '2025-05-01' })
      expect(unknown.status).toBe(404)
      expect(((await unknown.json()) as { error: string }).error).toMatch(/no job named 'nope'/)
      for (const body of [{ date: '2025-02-30' }, { date: 20250501 }, { force: 'yes' }, { when: 'now' }, '{not json', '[]']) {
        expect((await run('fx_write', body)).status, JSON.stringify(body)).toBe(400)
      }
      expect((await call('/jobs/fx_write/run', { headers: auth })).status).toBe(405)
      expect((await call('/nowhere', { headers: auth })).status).toBe(404)

      const status = await call('/status?job=fx_write&limit=10', { headers: auth })
      expect(status.status).toBe(200)
      const rows = (await status.json()) as Array<{ status: string }>
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SKIPPED', 'SUCCESS'])
      expect(rows[0]).toHaveProperty('job_name', 'fx_write')
      expect((await call('/status?limit=0', { headers: auth })).status).toBe(400)
      const summary = (await (await call('/status/summary', { headers: auth })).json()) as unknown[]
      expect(summary).toHaveLength(7)
      expect(summary.at(-1)).toMatchObject({ success: 2, skipped: 1, success_rate: 1 })

      const metrics = await call('/metrics', { headers: auth })
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const text = await metrics.text()
      expect(text).toMatch(/^# TYPE etl_job_runs_total counter$/m)
      expect(text).toMatch(/^etl_job_runs_total\{job="fx_write",status="SUCCESS"\} 2$/m)
      expect(text).toMatch(/^etl_job_runs_total\{job="fx_write",status="SKIPPED"\} 1$/m)
      expect(text).toMatch(/^etl_job_last_success_timestamp_seconds\{job="fx_write"\} \d+(\.\d+)?$/m)
      expect(text).toMatch(/^etl_job_last_success_duration_seconds\{job="fx_write"\} [\d.]+$/m)
      expect(text).toMatch(/^etl_job_last_success_rows_processed\{job="fx_write"\} 100$/m)
      expect(text).toMatch(/^etl_job_last_run_failed\{job="fx_write"\} 0$/m)
      const stamp = Number(/etl_job_last_success_timestamp_seconds\{job="fx_write"\} (\S+)/.exec(text)![1])
      expect(Math.abs(stamp - Date.now() / 1000)).toBeLessThan(120)
    } finally {
      server.child.kill('SIGTERM')
    }
    const ended = await server.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.stderr).not.toContain(TOKEN)
  })

  it('reports a failed run with HTTP 500 and the error', async () => {
    const server = await startServer({ env: { FX_FAIL: '1' } })
    const auth = { Authorization: `Bearer ${TOKEN}` }
    try {
      const response = await fetch(`${server.url}/jobs/fx_write/run`, { method: 'POST', headers: auth, body: JSON.stringify({ date: '2025-05-02' }) })
      expect(response.status).toBe(500)
      expect(await response.json()).toMatchObject({ status: 'FAILED', message: expect.stringMatching(/failed on purpose/) })
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text()
      expect(metrics).toMatch(/^etl_job_last_run_failed\{job="fx_write"\} 1$/m)
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }
  })

  it('runs the latest ended partition on POST without a date, and refuses one still going with HTTP 400', async () => {
    const server = await startServer({ env: { ETL_NOW: '2026-12-02T08:00:00Z' } })
    const post = (body: unknown) =>
      fetch(`${server.url}/jobs/aggregate_weekly_metrics/run`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) })
    try {
      expect(await (await post({})).json()).toMatchObject({ target: '2026-11-23' })
      const open = await post({ date: '2026-12-01' })
      expect(open.status).toBe(400)
      expect(((await open.json()) as { error: string }).error).toMatch(/week of 2026-11-30, which has not ended yet/)
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }
  })

  it('stops by itself after --exit-after seconds', async () => {
    const started = Date.now()
    const server = await startServer({ exitAfter: 1 })
    const ended = await server.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(Date.now() - started).toBeLessThan(30_000)
  })
})
