import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { hasServer, useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { etl, startEtl } from '../helpers/cli.js'
import { ledgerRows } from '../helpers/run-env.js'

/**
 * Several real processes against one warehouse. These need a PostgreSQL server: PGlite is one
 * process's database, so on PGlite the concurrency tests skip (their names say so) and the
 * kill -9 test proves the embedded variant instead: the next process takes over the folder.
 */
let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))

const rowsOf = (db: Database, target: string) =>
  sql<{ n: number; max: number | null }>`select count(*)::int as n, max(i) as max from fx_cli where target = ${target}::date`
    .execute(db.db)
    .then((r) => r.rows[0]!)

function sleepingUntilSaid(child: ReturnType<typeof startEtl>['child']): Promise<void> {
  return new Promise((resolve) => child.stderr!.on('data', (d) => String(d).includes('sleeping') && resolve()))
}

describe('processes', () => {
  it.skipIf(!hasServer())('six concurrent processes on one (job, date) run it exactly once (needs a PostgreSQL server; skipped on PGlite)', async () => {
    const runs = Array.from({ length: 6 }, () =>
      etl(['run-job', '--job', 'fx_write', '--date', '2025-04-01'], { ...tw.env, FX_SLEEP_MS: '1500', FX_ROWS: '50' }),
    )
    const results = await Promise.all(runs)
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0])
    await withWarehouse(async (db) => {
      const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date === '2025-04-01')
      expect(rows.filter((r) => r.status === 'SUCCESS')).toHaveLength(1)
      expect(rows.filter((r) => r.status === 'SKIPPED')).toHaveLength(5)
      expect(await rowsOf(db, '2025-04-01')).toEqual({ n: 50, max: 50 })
    })
  })

  it('a process killed with SIGKILL mid-run leaves the partition whole, and the next run takes over', async () => {
    const env = { ...tw.env }
    expect((await etl(['run-job', '--job', 'fx_write', '--date', '2025-04-02'], { ...env, FX_ROWS: '100' })).code).toBe(0)

    // a forced re-run replaces the day with 30 rows, and is killed before it commits
    const doomed = startEtl(['run-job', '--job', 'fx_write', '--date', '2025-04-02', '--force'], { ...env, FX_ROWS: '30', FX_SLEEP_MS: '60000' })
    await sleepingUntilSaid(doomed.child)
    doomed.child.kill('SIGKILL')
    expect((await doomed.done).signal).toBe('SIGKILL')

    await withWarehouse(async (db) => {
      expect(await rowsOf(db, '2025-04-02')).toEqual({ n: 100, max: 100 }) // the last committed content, whole
      if (tw.kind === 'postgres') {
        // the server ends the dead backend as soon as it reads the closed socket
        for (let i = 0; i < 100; i++) {
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = ${0x6e73}`.execute(db.db)
          if (rows[0]!.n === 0) break
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    })

    const next = await etl(['run-job', '--job', 'fx_write', '--date', '2025-04-02', '--force'], { ...env, FX_ROWS: '30', ETL_LOCK_TIMEOUT: '20' })
    expect(next.code, next.stderr).toBe(0)
    await withWarehouse(async (db) => {
      expect(await rowsOf(db, '2025-04-02')).toEqual({ n: 30, max: 30 })
      const rows = (await ledgerRows(db, 'fx_write')).filter((r) => r.target_date === '2025-04-02')
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'FAILED', 'SUCCESS'])
      expect(rows[1]!.error_message).toMatch(/^abandoned/)
    })
  })
})
