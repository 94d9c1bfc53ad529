import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { errorLines, etl } from '../helpers/cli.js'

let tw: TestWarehouse
let jobsDir: string

const job = (name: string, checks: unknown[]) =>
  `export default ${JSON.stringify({
    kind: 'fact',
    name,
    source: { table: 'public.ev_source', timeColumn: 'at' },
    target: 'fx_events',
    select: 'select {{date_key}} as date_key, s.id, s.status from {{staging}} s',
    checks,
  })}\n`

beforeAll(async () => {
  tw = await createTestWarehouse()
  const db = await tw.open()
  await db.exec('create table fx_events (date_key int not null, id int, status text)')
  await db.close()
  const src = await tw.openSource()
  await src.exec(`create table ev_source (id int, status text, at timestamptz not null);
    insert into ev_source values (1, 'graded', '2025-01-15T09:00:00Z'), (2, 'graded', '2025-01-15T10:00:00Z');`)
  await src.close()
  jobsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-checks-'))
  fs.writeFileSync(path.join(jobsDir, 'build_cli_events.mjs'), job('build_cli_events', [{ type: 'accepted_values', column: 'status', values: ['graded'] }]))
})

afterAll(async () => {
  fs.rmSync(jobsDir, { recursive: true, force: true })
  await tw?.drop()
})

const env = () => ({ ...tw.env, ETL_JOBS_PATH: jobsDir, ETL_NOW: '2025-01-16T02:00:00Z' })

describe('etl test and etl status --checks', () => {
  it('builds, then etl test re-checks the partition read-only: exit 0, then exit 1 after a hand edit, with nothing recorded', async () => {
    const built = await etl(['run-job', '--job', 'build_cli_events', '--date', '2025-01-15'], env())
    expect(built.code, built.stderr).toBe(0)
    const ok = await etl(['test', '--jobs', 'build_cli_events', '--json'], env())
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject([{ job: 'build_cli_events', partition: '2025-01-15', check: 'accepted_values(status)', status: 'pass' }])

    const db = await tw.open()
    await db.exec(`update fx_events set status = 'lost' where id = 2`)
    const count = async () => (await sql<{ n: number }>`select count(*)::int as n from etl_check_results`.execute(db.db)).rows[0]!.n
    const before = await count()
    await db.close()

    const bad = await etl(['test', '--date', '2025-01-15'], env())
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/build_cli_events\s+2025-01-15\s+accepted_values\(status\)\s+error\s+fail\s+1\s+lost/)
    const db2 = await tw.open()
    expect((await sql<{ n: number }>`select count(*)::int as n from etl_check_results`.execute(db2.db)).rows[0]!.n).toBe(before)
    await db2.close()

    const status = await etl(['status', '--checks', '--json'], env())
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject([{ job_name: 'build_cli_events', check_name: 'accepted_values(status)', status: 'pass' }])
  })

  it('a check naming an unknown column is one line and exit 2, before anything runs', async () => {
    fs.writeFileSync(path.join(jobsDir, 'build_cli_bad.mjs'), job('build_cli_bad', [{ type: 'not_null', columns: ['stauts'] }]))
    try {
      const result = await etl(['run-job', '--job', 'build_cli_bad', '--date', '2025-01-15'], env())
      expect(result.code).toBe(2)
      expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/build_cli_bad\.mjs: check 'not_null\(stauts\)': 'stauts' is not a column of fx_events \(it has date_key, id, status\)$/)])
      const tested = await etl(['test', '--jobs', 'build_cli_bad'], env())
      expect(tested.code).toBe(2)
      const runs = await etl(['status', '--json', '--job', 'build_cli_bad'], env())
      expect(JSON.parse(runs.stdout)).toEqual([])
    } finally {
      fs.rmSync(path.join(jobsDir, 'build_cli_bad.mjs'))
    }
  })
})
