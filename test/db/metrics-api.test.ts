import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl, startServe } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

/**
 * The metrics admin API of a real `etl serve` subprocess, called with fetch. The warehouse is
 * seeded and rolled up before the server starts and read again after it stops (on PGlite the
 * server holds the data folder while it runs).
 */
let tw: TestWarehouse
const ADMIN = 'admin-token-0123456789abcdef'
const TOKENS = [
  { token: 'ana-token-0123456789abcdef', user: 'ana', team: 'math', organization: 'acme', scopes: ['metrics:read', 'metrics:write', 'metrics:calculate'] },
  { token: 'bob-token-0123456789abcdef', user: 'bob', team: 'math', organization: 'acme', scopes: ['metrics:read', 'metrics:write', 'metrics:calculate'] },
  { token: 'carl-token-0123456789abcdef', user: 'carl', team: 'art', organization: 'acme', scopes: ['metrics:read', 'metrics:calculate'] },
  { token: 'dora-token-0123456789abcdef', user: 'dora', organization: 'other', scopes: ['metrics:read', 'metrics:calculate'] },
  { token: 'eve-token-0123456789abcdef', user: 'eve', scopes: ['metrics:read'] },
]
const tokenOf = (user: string) => (user === 'admin' ? ADMIN : TOKENS.find((t) => t.user === user)!.token)

/** Hand-written answers over daily_metrics, read before the server starts. */
let expected: { weekSessions: Record<string, number>; monthMinutes: Record<string, number>; dayMinutes: Record<string, number> }

beforeAll(async () => {
  tw = await createTestWarehouse()
  const db = await tw.open()
  try {
    // January 2025 for tenants 1 and 2, every day rolled up (so the week and the month are complete)
    await db.exec(`
      insert into daily_metrics (tenant_id, date_key, metric_date, sessions, session_minutes)
      select t, to_char(d, 'YYYYMMDD')::int, d, t * extract(day from d)::int, t * 10.5
      from generate_series(1, 2) t, generate_series(date '2025-01-01', date '2025-01-31', interval '1 day') g(d0), lateral (select g.d0::date as d) x;
      insert into etl_job_runs (job_name, run_date, target_date, status, completed_at)
      select 'aggregate_daily_metrics', d::date, d::date, 'SUCCESS', now() from generate_series(date '2025-01-01', date '2025-01-31', interval '1 day') d;`)
    const { rows: weeks } = await sql<{ k: string; v: number }>`
      select tenant_id || ' ' || to_char(metric_date - (extract(isodow from metric_date)::int - 1), 'YYYY-MM-DD') as k, sum(sessions)::float8 as v
      from daily_metrics group by 1`.execute(db.db)
    const { rows: months } = await sql<{ k: string; v: number }>`
      select tenant_id::text as k, sum(session_minutes)::float8 as v from daily_metrics group by 1`.execute(db.db)
    const { rows: days } = await sql<{ k: string; v: number }>`
      select tenant_id::text as k, sum(session_minutes)::float8 as v from daily_metrics where metric_date between '2025-01-06' and '2025-01-12' group by 1`.execute(db.db)
    const map = (rows: Array<{ k: string; v: number }>) => Object.fromEntries(rows.map((r) => [r.k, r.v]))
    expected = { weekSessions: map(weeks), monthMinutes: map(months), dayMinutes: map(days) }
  } finally {
    await db.close()
  }
  for (const args of [['rollup', 'weekly', '--week', '2025-01-06'], ['rollup', 'monthly', '--month', '2025-01']]) {
    const done = await etl(args, { ...tw.env, ETL_NOW: '2025-02-10T12:00:00Z' })
    expect(done.code, done.stderr + done.stdout).toBe(0)
  }
})

afterAll(async () => {
  await tw?.drop()
})

async function startServer() {
  return startServe({ ...tw.env, ETL_ADMIN_TOKEN: ADMIN, ETL_ADMIN_TOKENS: JSON.stringify(TOKENS), ETL_NOW: '2025-02-10T12:00:00Z' }, 180)
}

const minutes = (name: string, visibility: string) => ({
  name, metricType: 'SUM', dataSource: 'daily_metrics', calculationFormula: 'session_minutes', dimensions: ['tenant_id'], visibility,
})

describe('the metrics admin API of etl serve', () => {
  it('serves rollups and custom metrics with tokens, scopes and visibility; bad requests are 400 with one message', async () => {
    const server = await startServer()
    const call = async (user: string | undefined, path: string, body?: unknown) => {
      const headers: Record<string, string> = user ? { Authorization: `Bearer ${tokenOf(user)}` } : {}
      const init: RequestInit = body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }
      const res = await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
      return { status: res.status, json: (await res.json()) as any }
    }
    try {
      // 401 without a token or with an unknown one; 403 for a token without the scope
      expect((await call(undefined, '/metrics/weekly')).status).toBe(401)
      const wrong = await fetch(`${server.url}/metrics/weekly`, { headers: { Authorization: 'Bearer not-a-token-0123456789' } })
      expect(wrong.status).toBe(401)
      const noScope = await call('eve', '/metrics/calculate', { name: 'x', from: '2025-01-01', to: '2025-01-02' })
      expect(noScope).toEqual({ status: 403, json: { error: "this token lacks the scope 'metrics:calculate' that POST /metrics/calculate needs" } })
      expect((await call('carl', '/metrics/custom-definitions', minutes('carl_m', 'PUBLIC'))).status).toBe(403)
      // the scoped tokens are for the metrics API only; the other endpoints stay the admin's
      expect((await call('ana', '/status')).status).toBe(401)

      // weekly and monthly rollups, the numbers of daily_metrics summed by hand
      const week = await call('eve', '/metrics/weekly?from=2025-01-08&to=2025-01-08')
      expect(week.status).toBe(200)
      expect(week.json.from).toBe('2025-01-06')
      expect(week.json.rows.map((r: any) => [r.tenant_id, r.week_start, r.sessions, r.is_complete])).toEqual([
        [1, '2025-01-06', expected.weekSessions['1 2025-01-06'], true],
        [2, '2025-01-06', expected.weekSessions['2 2025-01-06'], true],
      ])
      const one = await call('eve', '/metrics/weekly?from=2025-01-06&to=2025-01-12&tenant=2')
      expect(one.json.rows.map((r: any) => r.tenant_id)).toEqual([2])
      const month = await call('eve', '/metrics/monthly?from=2025-01&to=2025-01')
      expect(month.json.rows.map((r: any) => [r.tenant_id, r.month_start, Number(r.session_minutes)])).toEqual([
        [1, '2025-01-01', expected.monthMinutes['1']],
        [2, '2025-01-01', expected.monthMinutes['2']],
      ])
      for (const [path, message] of [
        ['/metrics/weekly?from=2025-02-30', /from '2025-02-30' is not a calendar day|2025-02-30/],
        ['/metrics/weekly?tenant=abc', /tenant 'abc' is not a tenant id/],
        ['/metrics/weekly?limit=0', /limit '0' must be a whole number from 1 to 10000/],
        ['/metrics/weekly?from=2025-01-20&to=2025-01-06', /is after to/],
        ['/metrics/monthly?from=2025-13', /2025-13/],
        ['/metrics/monthly?color=red', /unknown query parameter 'color'/],
      ] as const) {
        const res = await call('eve', path)
        expect(res.status, path).toBe(400)
        expect(Object.keys(res.json)).toEqual(['error'])
        expect(res.json.error, path).toMatch(message)
      }

      // ana defines one metric of each visibility; the same body again is unchanged
      for (const v of ['PRIVATE', 'TEAM', 'ORGANIZATION', 'PUBLIC']) {
        const made = await call('ana', '/metrics/custom-definitions', minutes(`ana_${v.toLowerCase()}`, v))
        expect(made, v).toEqual({ status: 201, json: { name: `ana_${v.toLowerCase()}`, version: 1, created: true } })
      }
      expect(await call('ana', '/metrics/custom-definitions', minutes('ana_team', 'TEAM'))).toEqual({ status: 200, json: { name: 'ana_team', version: 1, created: false } })
      // an operator's metric (the admin token) that is not public is the admin's alone
      expect((await call('admin', '/metrics/custom-definitions', minutes('ops_team', 'TEAM'))).status).toBe(201)

      const seen = async (user: string) => ((await call(user, '/metrics/custom-definitions')).json as Array<{ name: string }>).map((d) => d.name)
      expect(await seen('ana')).toEqual(['ana_organization', 'ana_private', 'ana_public', 'ana_team'])
      expect(await seen('bob')).toEqual(['ana_organization', 'ana_public', 'ana_team'])
      expect(await seen('carl')).toEqual(['ana_organization', 'ana_public'])
      expect(await seen('dora')).toEqual(['ana_public'])
      expect(await seen('admin')).toEqual(['ana_organization', 'ana_private', 'ana_public', 'ana_team', 'ops_team'])
      const listed = (await call('bob', '/metrics/custom-definitions')).json.find((d: any) => d.name === 'ana_team')
      expect(listed).toMatchObject({ version: 1, visibility: 'TEAM', owner: { user: 'ana', team: 'math', organization: 'acme' } })

      // calculate: the owner's private metric for her, 403 for a teammate; numbers as by hand
      const range = { from: '2025-01-06', to: '2025-01-12' }
      const mine = await call('ana', '/metrics/calculate', { name: 'ana_private', ...range })
      expect(mine.status).toBe(200)
      expect(mine.json).toMatchObject({ name: 'ana_private', version: 1, costClass: 'low' })
      expect(mine.json.rows).toEqual([
        { dimensions: { tenant_id: 1 }, value: expected.dayMinutes['1'] },
        { dimensions: { tenant_id: 2 }, value: expected.dayMinutes['2'] },
      ])
      expect(await call('bob', '/metrics/calculate', { name: 'ana_private', ...range })).toEqual({
        status: 403, json: { error: "metric 'ana_private' is PRIVATE to its owner; this token may not read it" },
      })
      expect((await call('bob', '/metrics/calculate', { name: 'ana_team', ...range })).status).toBe(200)
      expect((await call('carl', '/metrics/calculate', { name: 'ana_team', ...range })).status).toBe(403)
      expect((await call('dora', '/metrics/calculate', { name: 'ana_organization', ...range })).status).toBe(403)
      expect((await call('dora', '/metrics/calculate', { name: 'ana_public', ...range })).status).toBe(200)
      expect((await call('carl', '/metrics/calculate', { name: 'ops_team', ...range })).status).toBe(403)
      expect((await call('carl', '/metrics/calculate', { name: 'nope', ...range })).status).toBe(404)
      // a definition tested without storing it, as `etl metric test`
      const tested = await call('carl', '/metrics/calculate', { definition: minutes('trial', 'PRIVATE'), ...range })
      expect(tested.json.rows).toEqual(mine.json.rows)
      // only the owner (or the admin) writes a new version
      expect(await call('bob', '/metrics/custom-definitions', { ...minutes('ana_team', 'TEAM'), description: 'mine now' })).toEqual({
        status: 403, json: { error: "metric 'ana_team' belongs to user 'ana'; only its owner or an admin may change it" },
      })
      expect((await call('admin', '/metrics/custom-definitions', { ...minutes('ana_team', 'TEAM'), description: 'fixed' })).json).toEqual({ name: 'ana_team', version: 2, created: true })
      // the admin's new version keeps ana as the owner, so bob still sees it
      expect(await seen('bob')).toContain('ana_team')

      // bad requests: 400 and one message, as the CLI's exit 2
      for (const [user, path, body, message] of [
        ['ana', '/metrics/custom-definitions', '{not json', /the body is not JSON/],
        ['ana', '/metrics/custom-definitions', '[]', /a JSON object/],
        ['ana', '/metrics/custom-definitions', { ...minutes('x', 'PUBLIC'), calculationFormula: 'pg_sleep(10)' }, /function call 'pg_sleep\('/],
        ['ana', '/metrics/custom-definitions', { ...minutes('x', 'PUBLIC'), raw: 'select 1' }, /raw/],
        ['ana', '/metrics/custom-definitions', { ...minutes('x', 'SECRET') }, /field 'visibility'/],
        ['ana', '/metrics/custom-definitions', { ...minutes('x', 'PUBLIC'), dataSource: 'etl_job_runs' }, /field 'dataSource' 'etl_job_runs' is not a table a job writes/],
        ['ana', '/metrics/custom-definitions', { ...minutes('x', 'PUBLIC'), calculationFormula: 'password' }, /'password' is not a column of daily_metrics/],
        ['ana', '/metrics/calculate', { name: 'ana_public', from: '2025-01-12', to: '2025-01-06' }, /--from 2025-01-12 is after --to 2025-01-06|after/],
        ['ana', '/metrics/calculate', { name: 'ana_public', from: '2025-02-30', to: '2025-03-01' }, /2025-02-30/],
        ['ana', '/metrics/calculate', { name: 'ana_public' }, /'from' and 'to' are required/],
        ['ana', '/metrics/calculate', { name: 'ana_public', definition: {}, ...range }, /either 'name'.*or 'definition'/],
        ['ana', '/metrics/calculate', { name: 'ana_public', ...range, statementTimeoutMs: 0 }, /'statementTimeoutMs' must be a whole number/],
        ['ana', '/metrics/calculate', { name: 'ana_public', ...range, sql: 'select 1' }, /unknown field 'sql'/],
      ] as const) {
        const res = await call(user, path, body)
        expect(res.status, JSON.stringify(body)).toBe(400)
        expect(Object.keys(res.json)).toEqual(['error'])
        expect(res.json.error, JSON.stringify(body)).toMatch(message)
        expect(res.json.error).not.toMatch(/\n/)
      }
      expect((await call('ana', '/metrics/weekly', {})).status).toBe(405)
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }
    // what the API stored: owners beside each version
    const db = await tw.open()
    try {
      const { rows } = await sql<{ name: string; version: number; owner_user: string | null }>`
        select name, version, owner_user from custom_metric_definitions order by name, version`.execute(db.db)
      expect(rows).toContainEqual({ name: 'ana_team', version: 2, owner_user: 'ana' })
      expect(rows).toContainEqual({ name: 'ops_team', version: 1, owner_user: null })
    } finally {
      await db.close()
    }
  })

  it.each([
    ['not JSON', '{tokens', /ETL_ADMIN_TOKENS is not JSON/],
    ['a short token', JSON.stringify([{ token: 'short', user: 'x', scopes: ['metrics:read'] }]), /ETL_ADMIN_TOKENS entry 0 field 'token' must be 16 to 200/],
    ['an unknown scope', JSON.stringify([{ token: 'x'.repeat(20), user: 'x', scopes: ['everything'] }]), /entry 0 field 'scopes\.0'/],
    ['the admin token again', JSON.stringify([{ token: ADMIN, user: 'x', scopes: ['metrics:read'] }]), /entry 0 repeats a token/],
  ])('refuses ETL_ADMIN_TOKENS that is %s: exit 3, one line that shows no token', async (_what, value, message) => {
    const result = await etl(['serve', '--port', '0', '--exit-after', '5'], { ...tw.env, ETL_ADMIN_TOKEN: ADMIN, ETL_ADMIN_TOKENS: value })
    expect(result.code).toBe(3)
    const lines = errorLines(result.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message)
    expect(lines[0]).not.toContain(ADMIN)
  })
})
