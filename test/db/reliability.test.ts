import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { hasServer, useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { errorLines, etl, startEtl } from '../helpers/cli.js'
import { ledgerRows } from '../helpers/run-env.js'

/**
 * Faults a cron job meets in production, each proved with real processes: what happens, and
 * that the next run repairs it. The README's reliability table lists them. Redis stopped and an
 * HTTP provider that hangs are proved in test/db/prices-cache.test.ts and test/unit/http.test.ts.
 */
let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))

const countsByDay = (db: Database, table: string) =>
  sql<{ target: string; n: number }>`select target::text as target, count(*)::int as n from ${sql.table(table)} group by 1 order by 1`
    .execute(db.db)
    .then((r) => Object.fromEntries(r.rows.map((row) => [row.target, row.n])))

describe('reliability', () => {
  it('a backfill killed with SIGKILL midway leaves every day whole, and the next backfill finishes the rest', async () => {
    const args = ['backfill', '--from', '2025-05-01', '--to', '2025-05-06', '--jobs', 'fx_write', '--concurrency', '2']
    const doomed = startEtl(args, { ...tw.env, FX_ROWS: '100', FX_SLEEP_MS: '400' })
    let sleeps = 0
    await new Promise<void>((resolve) =>
      doomed.child.stderr!.on('data', (d) => {
        sleeps += String(d).split('fx_write: sleeping').length - 1
        if (sleeps >= 3) resolve()
      }),
    )
    doomed.child.kill('SIGKILL')
    expect((await doomed.done).signal).toBe('SIGKILL')

    await withWarehouse(async (db) => {
      const days = await countsByDay(db, 'fx_cli')
      // a day is there with all its rows, or not at all
      for (const n of Object.values(days)) expect(n).toBe(100)
      expect(Object.keys(days).length).toBeLessThan(6)
    })
    const next = await etl(args, { ...tw.env, FX_ROWS: '100', ETL_LOCK_TIMEOUT: '20' })
    expect(next.code, next.stderr).toBe(0)
    await withWarehouse(async (db) => {
      const days = await countsByDay(db, 'fx_cli')
      expect(Object.keys(days).filter((d) => d.startsWith('2025-05'))).toHaveLength(6)
      const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date?.startsWith('2025-05'))
      expect(rows.filter((r) => r.status === 'RUNNING')).toEqual([])
      expect(new Set(rows.filter((r) => r.status === 'SUCCESS').map((r) => r.target_date)).size).toBe(6)
    })
  })

  it('a COPY that breaks halfway (a full disk, a dropped network) leaves the partition as it was', async () => {
    const args = ['run-job', '--job', 'fx_copy', '--date', '2025-05-10']
    expect((await etl(args, { ...tw.env, FX_ROWS: '5000' })).code).toBe(0)
    const broken = await etl([...args, '--force'], { ...tw.env, FX_ROWS: '8000', FX_COPY_BREAK_AT: '6000' })
    expect(broken.code).toBe(1)
    expect(broken.stdout).toMatch(/fx_copy\s+2025-05-10\s+FAILED/)
    await withWarehouse(async (db) => {
      expect(await countsByDay(db, 'fx_copied')).toEqual({ '2025-05-10': 5000 })
    })
    expect((await etl([...args, '--force'], { ...tw.env, FX_ROWS: '8000' })).code).toBe(0)
    await withWarehouse(async (db) => expect(await countsByDay(db, 'fx_copied')).toEqual({ '2025-05-10': 8000 }))
  })

  it.skipIf(!hasServer())(
    'the database connection lost mid-run (a server restart): the run fails cleanly, and the retry succeeds (needs a PostgreSQL server; skipped on PGlite)',
    async () => {
      const args = ['run-job', '--job', 'fx_write', '--date', '2025-05-20']
      // the job notices when it next touches the database: here, when its 3 s of work end
      const run = startEtl(args, { ...tw.env, FX_ROWS: '30', FX_SLEEP_MS: '3000' })
      await new Promise<void>((resolve) => run.child.stderr!.on('data', (d) => String(d).includes('sleeping') && resolve()))
      const admin = new pg.Client({ connectionString: tw.env.WAREHOUSE_DATABASE_URL })
      await admin.connect()
      // what a restart does to every session: the server ends them
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and application_name = 'nightshift'`)
      await admin.end()
      const result = await run.done
      expect(result.code).toBe(3)
      expect(result.stderr).not.toMatch(/^\s+at /m) // no stack trace without ETL_DEBUG
      const lines = errorLines(result.stderr).filter((l) => l.startsWith('etl: '))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/lost the warehouse connection while running fx_write for 2025-05-20 .*the next run takes over/)
      await withWarehouse(async (db) => {
        expect(await countsByDay(db, 'fx_cli')).not.toHaveProperty('2025-05-20')
      })
      const again = await etl(args, { ...tw.env, FX_ROWS: '30' })
      expect(again.code, again.stderr).toBe(0)
      await withWarehouse(async (db) => {
        expect((await countsByDay(db, 'fx_cli'))['2025-05-20']).toBe(30)
        const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date === '2025-05-20')
        expect(rows.map((r) => r.status)).toEqual(['FAILED', 'SUCCESS'])
      })
    },
  )
})
