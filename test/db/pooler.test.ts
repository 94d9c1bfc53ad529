import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { openPostgres } from '../../src/db/postgres.js'
import { runJob } from '../../src/engine/runner.js'
import { etl, startEtl } from '../helpers/cli.js'
import { hasServer, useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { PGBOUNCER, startPgBouncer, type Bouncer } from '../helpers/pgbouncer.js'
import { customJob, ledgerRows, runEnvFor } from '../helpers/run-env.js'

/**
 * Exactly-once behind a real PgBouncer in `pool_mode = transaction` (4 server connections): every
 * statement outside a transaction may land on another server connection, so only a lock that
 * lives in the run's transaction means anything. Needs a server and the pgbouncer binary.
 */
const needs = !hasServer() || !PGBOUNCER
let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))
let bouncer: Bouncer
let env: Record<string, string>

beforeAll(async () => {
  if (needs) return
  // `options` (search_path) is dropped, not refused: which schema a pooled session sees is not this file's subject
  bouncer = await startPgBouncer(tw.env.WAREHOUSE_DATABASE_URL!, { ignoreStartupParameters: ['extra_float_digits', 'options'] })
  const url = bouncer.url(tw.env.WAREHOUSE_DATABASE_URL!)
  env = { ...tw.env, WAREHOUSE_DATABASE_URL: url, OLTP_DATABASE_URL: url }
})
afterAll(async () => {
  await bouncer?.stop()
})

/** Advisory locks held in this test's database, read on a direct connection. */
const advisoryLocks = (db: Database) =>
  sql<{ n: number }>`select count(*)::int as n from pg_locks
    where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`
    .execute(db.db)
    .then((r) => r.rows[0]!.n)

async function untilNoAdvisoryLocks(db: Database): Promise<number> {
  for (let i = 0; i < 100 && (await advisoryLocks(db)) > 0; i++) await new Promise((r) => setTimeout(r, 100))
  return advisoryLocks(db)
}

const rowsOf = (db: Database, target: string) =>
  sql<{ n: number }>`select count(*)::int as n from fx_cli where target = ${target}::date`.execute(db.db).then((r) => r.rows[0]!.n)

describe.skipIf(needs)('behind PgBouncer in transaction mode (needs a PostgreSQL server and pgbouncer)', () => {
  it('six processes forcing one partition at once: exactly one SUCCESS and five SKIPPED, three rounds in a row, and nothing stays held', async () => {
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          etl(['run-job', '--job', 'fx_write', '--date', '2025-04-01', '--force'], { ...env, FX_SLEEP_MS: '6000', FX_ROWS: String(10 * round) }),
        ),
      )
      expect(results.map((r) => r.code), results.map((r) => r.stderr).join('\n')).toEqual([0, 0, 0, 0, 0, 0])
      await withWarehouse(async (db) => {
        const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date === '2025-04-01').slice(-6)
        expect(rows.filter((r) => r.status === 'SUCCESS'), `round ${round}`).toHaveLength(1)
        const skipped = rows.filter((r) => r.status === 'SKIPPED')
        expect(skipped).toHaveLength(5)
        for (const r of skipped) expect(r.error_message).toMatch(/^running elsewhere/)
        expect(await rowsOf(db, '2025-04-01')).toBe(10 * round)
        expect(await advisoryLocks(db)).toBe(0)
      })
    }
    // what the session lock did through the pooler: every later run of the pair SKIPPED for good
    const later = await etl(['run-job', '--job', 'fx_write', '--date', '2025-04-01', '--force'], { ...env, FX_ROWS: '7' })
    expect(later.stdout).toMatch(/fx_write\s+2025-04-01\s+SUCCESS/)
  })

  it('a process killed with SIGKILL mid-run: its lock goes with it, and the next run records it FAILED (abandoned) and runs', async () => {
    const args = ['run-job', '--job', 'fx_write', '--date', '2025-04-02']
    expect((await etl(args, { ...env, FX_ROWS: '100' })).code).toBe(0)
    const doomed = startEtl([...args, '--force'], { ...env, FX_ROWS: '30', FX_SLEEP_MS: '60000' })
    await new Promise<void>((resolve) => doomed.child.stderr!.on('data', (d) => String(d).includes('sleeping') && resolve()))
    doomed.child.kill('SIGKILL')
    await doomed.done
    // PgBouncer closes the server connection of a client gone mid-transaction; the server rolls back
    await withWarehouse(async (db) => expect(await untilNoAdvisoryLocks(db)).toBe(0))

    const next = await etl([...args, '--force'], { ...env, FX_ROWS: '30' })
    expect(next.code, next.stderr).toBe(0)
    await withWarehouse(async (db) => {
      expect(await rowsOf(db, '2025-04-02')).toBe(30)
      const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date === '2025-04-02')
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'FAILED', 'SUCCESS'])
      expect(rows[1]!.error_message).toMatch(/^abandoned/)
    })
  })

  it('a backfill with --concurrency 4 through 4 server connections: every day once, no wait for a connection that never comes', async () => {
    const result = await etl(['backfill', '--from', '2025-04-10', '--to', '2025-04-17', '--jobs', 'fx_write', '--concurrency', '4'], {
      ...env,
      FX_SLEEP_MS: '300',
      FX_ROWS: '5',
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/8 SUCCESS/)
    await withWarehouse(async (db) => {
      const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date! >= '2025-04-10' && r.target_date! <= '2025-04-17')
      expect(rows.map((r) => r.status)).toEqual(Array(8).fill('SUCCESS'))
      expect(await advisoryLocks(db)).toBe(0)
    })
  })

  it('SIGTERM during a long statement: the cancel reaches the server connection through PgBouncer, the run rolls back, FAILED, exit 143', async () => {
    const run = startEtl(['run-job', '--job', 'fx_slow', '--date', '2025-04-20'], { ...env, FX_SLOW_S: '60' })
    await new Promise<void>((resolve) => run.child.stderr!.on('data', (d) => String(d).includes('fx_slow: sleeping') && resolve()))
    const sentAt = Date.now()
    run.child.kill('SIGTERM')
    const result = await run.done
    expect(result.code, result.stderr).toBe(143)
    expect(Date.now() - sentAt).toBeLessThan(15_000) // pg_sleep(60) was cancelled, not waited for
    await withWarehouse(async (db) => {
      const rows = (await ledgerRows(db, 'fx_slow')).filter((r) => r.target_date === '2025-04-20')
      expect(rows.map((r) => [r.status, r.error_message])).toEqual([['FAILED', 'interrupted (SIGTERM)']])
      expect(await advisoryLocks(db)).toBe(0)
    })
  })

  it('two pairs whose old 32-bit keys collide (hashtext) are locked apart: both run at once', async () => {
    // hashtext('fx_c488|') = hashtext('fx_c126442|'): with the old key the second SKIPPED silently
    const db = await openPostgres({ url: env.WAREHOUSE_DATABASE_URL!, role: 'test' })
    try {
      const { rows } = await sql<{ same: boolean }>`select hashtext('fx_c488|') = hashtext('fx_c126442|') as same`.execute(db.db)
      expect(rows[0]!.same).toBe(true)
      let letGo!: () => void
      const held = new Promise<void>((resolve) => (letGo = resolve))
      let started!: () => void
      const running = new Promise<void>((resolve) => (started = resolve))
      const first = customJob('fx_c488', async () => (started(), await held, { rowsProcessed: 1 }), { partition: 'none' })
      const second = customJob('fx_c126442', async () => ({ rowsProcessed: 2 }), { partition: 'none' })
      const runEnv = runEnvFor(db, tw.config)
      const a = runJob(runEnv, { job: first })
      await running
      const b = await runJob(runEnv, { job: second })
      letGo()
      expect([(await a).status, b.status]).toEqual(['SUCCESS', 'SUCCESS'])
    } finally {
      await db.close()
    }
  })
})
