import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fillDashboard } from '../../src/demo/dashboard.js'
import { planDemo } from '../../src/demo/plan.js'
import { errorLines, etl } from '../helpers/cli.js'
import { partsOf, storageMode } from '../helpers/storage.js'
import { openPostgres } from '../../src/db/postgres.js'
import { createTestWarehouse, withDatabase, type TestWarehouse } from '../helpers/db.js'

let tw: TestWarehouse
let env: Record<string, string>
let sourceDb: string | undefined

// the source tables have the same names as their targets: on a server they need a database of their own
async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: tw.env.WAREHOUSE_DATABASE_URL })
  await client.connect()
  await client.query(text).finally(() => client.end())
}

beforeAll(async () => {
  tw = await createTestWarehouse()
  // only the built-in jobs: the five dashboard syncs and retention
  env = { ...tw.env, ETL_JOBS_PATH: '' }
  let src
  if (tw.kind === 'postgres') {
    sourceDb = `${new URL(tw.env.WAREHOUSE_DATABASE_URL!).pathname.slice(1)}_src`
    await admin(`create database ${sourceDb}`)
    env.OLTP_DATABASE_URL = withDatabase(tw.env.WAREHOUSE_DATABASE_URL!, sourceDb)
    src = await openPostgres({ url: env.OLTP_DATABASE_URL, role: 'test' })
  } else {
    src = await tw.openSource()
  }
  await fillDashboard(src, planDemo({ scale: 'small', seed: 7, today: '2025-03-19', timezone: 'UTC' }))
  await src.close()
})

afterAll(async () => {
  if (sourceDb) await admin(`drop database if exists ${sourceDb} with (force)`)
  await tw?.drop()
})

async function watermarks(): Promise<Array<{ job_name: string; last_value: string | null; set_by: string | null; target: string }>> {
  const result = await etl(['watermarks', '--json'], env)
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout)
}

describe('etl sync-table, sync-tables and watermarks as a subprocess', () => {
  it('lists every table sync without a watermark before the first run', async () => {
    const marks = await watermarks()
    expect(marks.map((m) => m.job_name).sort()).toEqual([
      'sync_table_assignment_data',
      'sync_table_dashboard_data',
      'sync_table_evolution_data',
      'sync_table_operation_data',
      'sync_table_productivity_data',
    ])
    expect(marks.every((m) => m.last_value === null)).toBe(true)
  })

  it('syncs one table by its target name, then every table, and shows the watermarks', async () => {
    const one = await etl(['sync-table', 'dashboard_data'], env)
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toMatch(/sync_table_dashboard_data\s+-\s+SUCCESS\s+840\b/)
    const all = await etl(['sync-tables'], env)
    expect(all.code, all.stderr).toBe(0)
    expect(all.stdout).toMatch(/: 5 SUCCESS/)
    const marks = Object.fromEntries((await watermarks()).map((m) => [m.job_name, m.last_value]))
    expect(marks.sync_table_dashboard_data).toBe('2025-03-19')
    expect(marks.sync_table_assignment_data).toBe('2025-03-19')
    const table = await etl(['watermarks'], env)
    expect(table.stdout).toMatch(/sync_table_dashboard_data\s+dashboard_data\s+fecha_foto\s+2025-03-19/)
  })

  it('moves a watermark by hand, and --full-refresh reloads only the named table', async () => {
    const set = await etl(['watermarks', 'set', 'sync_table_dashboard_data', '2025-03-10'], env)
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toMatch(/watermark of sync_table_dashboard_data set to 2025-03-10 \(date; was 2025-03-19\)/)
    const before = Object.fromEntries((await watermarks()).map((m) => [m.job_name, m]))
    expect(before.sync_table_dashboard_data!.set_by).toBe('set')
    const refreshed = await etl(['sync-table', 'sync_table_dashboard_data', '--full-refresh'], env)
    expect(refreshed.code, refreshed.stderr).toBe(0)
    const after = Object.fromEntries((await watermarks()).map((m) => [m.job_name, m]))
    expect(after.sync_table_dashboard_data).toMatchObject({ last_value: '2025-03-19', set_by: 'sync' })
    for (const job of ['sync_table_evolution_data', 'sync_table_assignment_data', 'sync_table_operation_data', 'sync_table_productivity_data']) {
      expect(after[job]).toEqual(before[job])
    }
    const status = await etl(['status', '--json', '--job', 'sync_table_dashboard_data'], env)
    const rows = JSON.parse(status.stdout) as Array<{ status: string; parameters: Record<string, unknown> }>
    expect(rows[0]).toMatchObject({ status: 'SUCCESS', parameters: { fullRefresh: true } })
  })

  it('created the five targets as time-partitioned tables of the storage mode and the retention job runs on them', async () => {
    const wh = await tw.open()
    try {
      const names = ['assignment_data', 'dashboard_data', 'evolution_data', 'operation_data', 'productivity_data']
      const { rows: policies } = await sql<{ table_name: string; storage: string }>`
        select table_name, storage from etl_retention_policies order by 1`.execute(wh.db)
      const mode = await storageMode(wh.db)
      expect(policies).toEqual(names.map((table_name) => ({ table_name, storage: mode })))
      // range partitions (pg_inherits) or a hypertable's chunks (inheritance children too)
      for (const name of names) expect((await partsOf(wh.db, name)).length, name).toBeGreaterThan(0)
    } finally {
      await wh.close()
    }
    const retention = await etl(['run-job', '--job', 'retention'], env)
    expect(retention.code, retention.stderr).toBe(0)
    expect(retention.stdout).toMatch(/retention\s+-\s+SUCCESS/)
  })

  describe('bad input: exit 2, one line, nothing run', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown table sync', ['sync-table', 'nope'], /no table sync named 'nope' \(table syncs: .*sync_table_dashboard_data/],
      ['a job that is not a table sync', ['sync-table', 'retention'], /no table sync named 'retention'/],
      ['sync-table without a name', ['sync-table'], /missing required argument 'name'/],
      ['a bad --concurrency', ['sync-tables', '--concurrency', '0'], /--concurrency/],
      ['an unknown watermarks action', ['watermarks', 'sideways'], /unknown watermarks action 'sideways'/],
      ['watermarks set without a value', ['watermarks', 'set', 'dashboard_data'], /watermarks set needs a table sync and a value/],
      ['watermarks set of an unknown table', ['watermarks', 'set', 'nope', '2025-01-01'], /no table sync named 'nope'/],
      ['a watermark that is not of the column type', ['watermarks', 'set', 'dashboard_data', '2025-02-30'], /watermark value '2025-02-30' is not a date, the type of fecha_foto/],
      ['a watermark that is not a value at all', ['watermarks', 'set', 'sync_table_operation_data', 'yesterday-ish'], /watermark value 'yesterday-ish' is not a timestamp with time zone/],
    ]
    for (const [what, args, message] of cases) {
      it(`refuses ${what}`, async () => {
        const result = await etl(args, env)
        expect(result.code, result.stderr).toBe(2)
        const lines = errorLines(result.stderr)
        expect(lines, result.stderr).toHaveLength(1)
        expect(lines[0]).toMatch(/^etl: /)
        expect(lines[0]).toMatch(message)
      })
    }

    it('left the watermarks as they were', async () => {
      const marks = Object.fromEntries((await watermarks()).map((m) => [m.job_name, m.last_value]))
      expect(marks.sync_table_dashboard_data).toBe('2025-03-19')
    })
  })
})
