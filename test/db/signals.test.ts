import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { etl, startEtl } from '../helpers/cli.js'
import { hasServer, useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows } from '../helpers/run-env.js'

/**
 * SIGINT and SIGTERM sent to real `etl` processes mid-run, on a server and on the embedded
 * database. fx_slow waits inside its transaction: in pg_sleep on a server (the cancel must end
 * it), in JavaScript on PGlite.
 */
let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))

const rowsOf = (db: Database, target: string) =>
  sql<{ n: number }>`select count(*)::int as n from fx_slow where target = ${target}::date`.execute(db.db).then((r) => r.rows[0]!.n)

const statusByDay = async (db: Database) =>
  Object.fromEntries((await ledgerRows(db, 'fx_slow')).map((r) => [`${r.target_date}#${r.id}`, r.status]))

function saysSleeping(child: ReturnType<typeof startEtl>['child']): Promise<void> {
  return new Promise((resolve) => child.stderr!.on('data', (d) => String(d).includes('fx_slow: sleeping') && resolve()))
}

/** What a run leaves behind: no advisory lock in this database (server), no lock file (embedded). */
async function expectNoLocks(db: Database): Promise<void> {
  if (tw.kind === 'postgres') {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks
      where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`.execute(db.db)
    expect(rows[0]!.n).toBe(0)
  } else {
    expect(fs.existsSync(path.join(tw.env.ETL_DATA_DIR!, 'nightshift.lock'))).toBe(false)
  }
}

describe('interrupted runs', () => {
  it('SIGTERM mid-run rolls the run back, records it FAILED, releases its locks, prints how to resume and exits 143', async () => {
    const args = ['run-job', '--job', 'fx_slow', '--date', '2025-06-10']
    expect((await etl(args, { ...tw.env, FX_ROWS: '5' })).code).toBe(0)

    const run = startEtl([...args, '--force'], { ...tw.env, FX_ROWS: '20', FX_SLOW_S: '60' })
    await saysSleeping(run.child)
    const sentAt = Date.now()
    run.child.kill('SIGTERM')
    const result = await run.done
    expect(result.code, result.stderr).toBe(143)
    expect(Date.now() - sentAt).toBeLessThan(15_000) // not the 60 s of the sleep
    expect(result.stdout).toMatch(/fx_slow\s+2025-06-10\s+FAILED\s+\d+\s+\d+\s+interrupted \(SIGTERM\)/)
    expect(result.stdout).toContain('interrupted by SIGTERM: 0 finished, 1 rolled back and recorded FAILED; resume with: etl run-job --job fx_slow --date 2025-06-10 --force')

    await withWarehouse(async (db) => {
      await expectNoLocks(db)
      expect(await rowsOf(db, '2025-06-10')).toBe(5) // the last committed content
      const rows = await ledgerRows(db, 'fx_slow')
      expect(rows.map((r) => [r.status, r.error_message])).toEqual([
        ['SUCCESS', null],
        ['FAILED', 'interrupted (SIGTERM)'],
      ])
    })
    // nothing is left held: the resume command runs at once
    const resumed = await etl([...args, '--force'], { ...tw.env, FX_ROWS: '20', ETL_LOCK_TIMEOUT: '1' })
    expect(resumed.code, resumed.stderr).toBe(0)
    await withWarehouse(async (db) => expect(await rowsOf(db, '2025-06-10')).toBe(20))
  })

  it('SIGINT mid-backfill: finished days stay, the ones in flight roll back, nothing new starts, exit 130, and the printed command does the rest', async () => {
    const concurrency = tw.kind === 'postgres' ? '2' : '1'
    const args = ['backfill', '--from', '2025-07-01', '--to', '2025-07-06', '--jobs', 'fx_slow', '--concurrency', concurrency]
    const run = startEtl(args, { ...tw.env, FX_SLOW_S: '60', FX_SLOW_FROM: '2025-07-03' })
    await saysSleeping(run.child)
    run.child.kill('SIGINT')
    const result = await run.done
    expect(result.code, result.stderr).toBe(130)
    const resume = /resume with: etl (.*)$/m.exec(result.stdout)?.[1]
    expect(resume).toBe(args.join(' '))

    await withWarehouse(async (db) => {
      await expectNoLocks(db)
      const rows = await ledgerRows(db, 'fx_slow')
      const july = rows.filter((r) => r.target_date!.startsWith('2025-07'))
      expect(july.filter((r) => r.status === 'SUCCESS').map((r) => r.target_date).sort()).toEqual(['2025-07-01', '2025-07-02'])
      const failed = july.filter((r) => r.status === 'FAILED')
      expect(failed.length).toBeGreaterThanOrEqual(1)
      expect(failed.length).toBeLessThanOrEqual(Number(concurrency))
      for (const r of failed) expect(r.error_message).toBe('interrupted (SIGINT)')
      expect(july.filter((r) => r.status === 'RUNNING')).toEqual([])
      expect(july).toHaveLength(2 + failed.length) // days 5 and 6 never started
      for (const r of failed) expect(await rowsOf(db, r.target_date!)).toBe(0)
    })

    const again = await etl(resume!.split(' '), tw.env)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain('2 (job, partition) pairs already SUCCESS were left alone')
    await withWarehouse(async (db) => {
      for (const day of ['01', '02', '03', '04', '05', '06']) expect(await rowsOf(db, `2025-07-${day}`)).toBe(10)
    })
  })

  it('a RUNNING row whose process is gone: etl check alerts it, and a backfill over the pair (SUCCESS earlier) records it FAILED as abandoned', async () => {
    const args = ['run-job', '--job', 'fx_slow', '--date', '2025-08-01']
    expect((await etl(args, tw.env)).code).toBe(0)
    const doomed = startEtl([...args, '--force'], { ...tw.env, FX_SLOW_S: '60' })
    await saysSleeping(doomed.child)
    if (tw.kind === 'postgres') {
      // alive: not an alert (on PGlite check could not open the folder while the run holds it)
      const alive = await etl(['check', '--json'], tw.env)
      expect(JSON.parse(alive.stdout).alerts.filter((a: { type: string }) => a.type === 'abandoned')).toEqual([])
    }
    doomed.child.kill('SIGKILL')
    await doomed.done
    if (tw.kind === 'postgres') await untilNoLocks()

    const check = await etl(['check', '--json'], tw.env)
    expect(check.code).toBe(1)
    const abandoned = JSON.parse(check.stdout).alerts.filter((a: { type: string }) => a.type === 'abandoned')
    expect(abandoned).toMatchObject([{ job: 'fx_slow', partition: '2025-08-01' }])
    expect(abandoned[0].message).toMatch(/RUNNING since .* but its process \(.* pid \d+\) is gone/)

    const backfill = await etl(['backfill', '--from', '2025-08-01', '--to', '2025-08-01', '--jobs', 'fx_slow'], tw.env)
    expect(backfill.code, backfill.stderr).toBe(0)
    expect(backfill.stdout).toContain('1 (job, partition) pairs already SUCCESS were left alone')
    await withWarehouse(async (db) => {
      const rows = (await ledgerRows(db, 'fx_slow')).filter((r) => r.target_date === '2025-08-01')
      expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'FAILED'])
      expect(rows[1]!.error_message).toMatch(/^abandoned: the process \(.* pid \d+\) ended without finishing/)
    })
    const after = await etl(['check', '--json'], tw.env)
    expect(JSON.parse(after.stdout).alerts.filter((a: { type: string }) => a.type === 'abandoned')).toEqual([])
  })

  it.skipIf(!hasServer())('a second Ctrl-C exits at once, while the first still waits (here: for a server that never answers; run once, on the postgres project)', async () => {
    // accepts connections and says nothing, as a hung server or a black-holed network does
    const sockets: net.Socket[] = []
    let connected!: () => void
    const reached = new Promise<void>((resolve) => (connected = resolve))
    const server = net.createServer((s) => (sockets.push(s), connected()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `postgres://postgres@127.0.0.1:${(server.address() as net.AddressInfo).port}/postgres`
    const run = startEtl(['run-job', '--job', 'fx_slow', '--date', '2025-09-01'], { WAREHOUSE_DATABASE_URL: url, OLTP_DATABASE_URL: url })
    try {
      await reached // past start-up: its handlers are in place
      run.child.kill('SIGINT')
      await new Promise((r) => setTimeout(r, 300))
      expect(run.child.exitCode).toBe(null) // the first one waits for the connection
      const sentAt = Date.now()
      run.child.kill('SIGINT')
      const result = await run.done
      expect(result.code).toBe(130)
      expect(Date.now() - sentAt).toBeLessThan(3000)
      expect(result.stderr).toContain('etl: SIGINT again: exiting at once')
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  })
})

async function untilNoLocks(): Promise<void> {
  // the server ends the killed process's backend, and its transaction, once it reads the closed socket
  await withWarehouse(async (db) => {
    for (let i = 0; i < 100; i++) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks
        where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`.execute(db.db)
      if (rows[0]!.n === 0) return
      await new Promise((r) => setTimeout(r, 100))
    }
  })
}
