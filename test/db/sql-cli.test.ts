import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { etlPty } from '../helpers/pty.js'

let tw: TestWarehouse

beforeAll(async () => {
  tw = await createTestWarehouse()
  const run = await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], tw.env)
  expect(run.code).toBe(0)
})

afterAll(async () => {
  await tw?.drop()
})

const LEDGER = "select job_name, target_date, status, rows_processed from etl_job_runs where job_name = 'fx_write' order by started_at"

describe('etl sql', () => {
  it('is listed in etl --help', async () => {
    const { stdout } = await etl(['--help'])
    expect(stdout).toMatch(/^\s+sql \[options\] \[statement\]\s+read-only SQL/m)
  })

  it('prints a select as an aligned table at a terminal, with the row count', async () => {
    const r = await etlPty(['sql', LEDGER], tw.env)
    expect(r.code).toBe(0)
    expect(r.lines).toEqual([
      'job_name  target_date  status   rows_processed',
      '--------  -----------  -------  --------------',
      'fx_write  2025-01-15   SUCCESS  100',
      '(1 row)',
    ])
  })

  it('reads the statement from stdin without an argument', async () => {
    const r = await etlPty(['sql'], tw.env, { stdin: `${LEDGER};\n` })
    expect(r.code).toBe(0)
    expect(r.lines).toContain('fx_write  2025-01-15   SUCCESS  100')
  })

  it('--json prints an array of row objects', async () => {
    const r = await etl(['sql', '--json', `${LEDGER.replace('rows_processed', 'rows_processed, null as nothing')}`], tw.env)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual([{ job_name: 'fx_write', target_date: '2025-01-15', status: 'SUCCESS', rows_processed: 100, nothing: null }])
    const none = await etl(['sql', '--json', 'select 1 as a where false'], tw.env)
    expect(JSON.parse(none.stdout)).toEqual([])
  })

  it.each([
    ['an insert', "insert into etl_job_runs (job_name, run_date, status, started_at) values ('x', current_date, 'SUCCESS', now())", /^etl: refused, SQL here is read-only: cannot execute INSERT in a read-only transaction$/],
    ['DDL', 'create table sneaky (a int)', /^etl: refused, SQL here is read-only: cannot execute CREATE TABLE/],
    ['a second statement that would end the transaction', 'select 1; commit; delete from etl_job_runs', /^etl: one statement at a time/],
  ])('refuses %s: exit 2, one line, nothing written', async (_name, statement, message) => {
    const r = await etl(['sql', statement], tw.env)
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(message)])
    const count = await etl(['sql', '--json', 'select count(*)::int as n from etl_job_runs'], tw.env)
    expect(JSON.parse(count.stdout)).toEqual([{ n: 1 }])
  })

  it.each([
    ['a syntax error', 'selec 1', /^etl: syntax error at or near "selec" \(SQLSTATE 42601\)$/],
    ['an unknown table', 'select * from no_such_table', /^etl: relation "no_such_table" does not exist \(SQLSTATE 42P01\)$/],
  ])('bad SQL, %s: exit 2 with the database’s message', async (_name, statement, message) => {
    const r = await etl(['sql', statement], tw.env)
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(message)])
  })

  it('no SQL at all is exit 2', async () => {
    const r = await etl(['sql'], tw.env) // stdin is /dev/null: empty
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual(['etl: no SQL given: pass one statement as the argument or on stdin'])
  })
})
