import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import type { CheckDefinition } from '../../src/engine/checks/schema.js'
import { latestCheckResults } from '../../src/engine/checks/store.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { runSequence } from '../../src/engine/sequence.js'
import { isEtlError } from '../../src/errors.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let src: Database

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  src = await tw.openSource()
  await src.exec(`create table ev_source (id int, learner_id int, status text, duration_seconds int, rate numeric, at timestamptz not null)`)
  await db.exec(`
    create table fx_learner (learner_key int primary key);
    insert into fx_learner values (10), (11);
    create table fx_events (date_key int not null, id int, learner_key int, status text, duration_seconds int, rate numeric);`)
})

afterAll(async () => {
  await src?.close()
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await src.exec(`truncate ev_source;
    insert into ev_source values
      (1, 10, 'graded', 60, 0.5, '2025-01-15T09:00:00Z'),
      (2, 11, 'submitted', 120, 1, '2025-01-15T10:00:00Z'),
      (3, 10, 'graded', 0, 0, '2025-01-15T11:00:00Z');`)
  await db.exec('truncate etl_job_runs; truncate etl_check_results; truncate fx_events')
})

const env = () => runEnvFor(db, tw.config, () => new Date('2025-01-16T02:00:00Z'), src)

/** A fact job over ev_source, as a job file would declare it, with these checks. */
function factJob(checks: unknown[], name = 'build_fx_events') {
  return validateJob(
    {
      kind: 'fact',
      name,
      source: { table: 'public.ev_source', timeColumn: 'at' },
      target: 'fx_events',
      select: 'select {{date_key}} as date_key, s.id, s.learner_id as learner_key, s.status, s.duration_seconds, s.rate from {{staging}} s',
      checks,
    },
    `test/${name}.ts`,
  )
}

const build = (checks: unknown[], date = '2025-01-15') => runJob(env(), { job: factJob(checks), date, force: true })

async function checksum(): Promise<string> {
  const { rows } = await sql<{ md5: string | null }>`select md5(string_agg(f::text, '|' order by date_key, id, status)) as md5 from fx_events f`.execute(db.db)
  return rows[0]!.md5 ?? 'empty'
}

const at = (hour: number) => `2025-01-15T${String(hour).padStart(2, '0')}:00:00Z`
const addSource = (values: string) => src.exec(`insert into ev_source values ${values}`)

// each check type: the seeded day passes; after `spoil` on the source, the same day fails
const cases: Array<{ type: string; check: CheckDefinition; spoil: () => Promise<unknown>; failing: number; sample?: string[] }> = [
  { type: 'not_null', check: { type: 'not_null', columns: ['learner_key', 'status'] }, spoil: () => addSource(`(4, null, 'graded', 1, 0, '${at(12)}')`), failing: 1 },
  { type: 'unique', check: { type: 'unique', columns: ['id'] }, spoil: () => addSource(`(2, 10, 'graded', 5, 0, '${at(13)}')`), failing: 2, sample: ['2'] },
  {
    type: 'accepted_values',
    check: { type: 'accepted_values', column: 'status', values: ['graded', 'submitted'] },
    spoil: () => addSource(`(4, 10, 'lost', 1, 0, '${at(12)}'), (5, 10, 'lost', 1, 0, '${at(12)}')`),
    failing: 2,
    sample: ['lost'],
  },
  {
    type: 'relationships',
    check: { type: 'relationships', column: 'learner_key', to: 'fx_learner', field: 'learner_key' },
    spoil: () => addSource(`(4, 99, 'graded', 1, 0, '${at(12)}')`),
    failing: 1,
    sample: ['99'],
  },
  { type: 'row_count', check: { type: 'row_count', min: 3 }, spoil: () => src.exec('delete from ev_source where id = 3'), failing: 2 },
  { type: 'expression', check: { type: 'expression', sql: 'duration_seconds >= 0' }, spoil: () => addSource(`(4, 10, 'graded', -5, 0, '${at(12)}')`), failing: 1 },
  {
    type: 'sql',
    check: { type: 'sql', query: 'select id, rate from {{scope}} where rate not between 0 and 1' },
    spoil: () => addSource(`(4, 10, 'graded', 1, 1.5, '${at(12)}')`),
    failing: 1,
  },
]

describe('data checks on a fact partition', () => {
  for (const c of cases) {
    it(`${c.type}: a partition that passes commits, one that fails is FAILED naming the check`, async () => {
      const ok = await build([c.check])
      expect(ok.status, ok.message).toBe('SUCCESS')
      const [passed] = await latestCheckResults(db.db)
      expect(passed).toMatchObject({ job_name: 'build_fx_events', target_date: '2025-01-15', check_type: c.type, status: 'pass', failing_rows: 0 })

      await c.spoil()
      const bad = await build([c.check])
      expect(bad.status).toBe('FAILED')
      expect(bad.message).toContain(`check '${passed!.check_name}' failed`)
      const [failed] = await latestCheckResults(db.db)
      expect(failed).toMatchObject({ check_name: passed!.check_name, status: 'fail', failing_rows: c.failing, run_id: bad.runId })
      if (c.sample) expect(failed!.sample).toEqual(c.sample)
      const ledger = (await ledgerRows(db)).at(-1)!
      expect(ledger).toMatchObject({ status: 'FAILED', id: bad.runId })
      expect(ledger.error_message).toContain(passed!.check_name)
    })
  }

  it('a failing error-level check leaves the partition exactly as it was, and the ledger names the check, its count and five sample keys', async () => {
    const checks = [{ type: 'not_null', columns: ['learner_key'] }]
    expect((await build(checks)).status).toBe('SUCCESS')
    const before = await checksum()
    expect(before).not.toBe('empty')
    await addSource([4, 5, 6, 7, 8, 9, 10].map((id) => `(${id}, null, 'graded', 1, 0, '${at(12)}')`).join(', '))
    const bad = await build(checks)
    expect(bad.status).toBe('FAILED')
    expect(await checksum()).toBe(before)
    const row = (await ledgerRows(db, 'build_fx_events')).at(-1)!
    expect(row.status).toBe('FAILED')
    expect(row.error_message).toMatch(/^check 'not_null\(learner_key\)' failed: 7 failing rows; e\.g\. /)
    const [result] = await latestCheckResults(db.db)
    expect(result!.sample).toHaveLength(5)
  })

  it('a warn-level check commits the partition, records the warning and names it in the ledger', async () => {
    await addSource(`(4, 10, 'graded', -5, 0, '${at(12)}')`)
    const outcome = await build([{ type: 'expression', sql: 'duration_seconds >= 0', severity: 'warn', name: 'non_negative_duration' }])
    expect(outcome.status).toBe('SUCCESS')
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from fx_events`.execute(db.db)
    expect(rows[0]!.n).toBe(4)
    expect((await ledgerRows(db, 'build_fx_events')).at(-1)!.error_message).toContain('check non_negative_duration (failed: 1 failing row')
    expect(await latestCheckResults(db.db, { notPassing: true })).toMatchObject([{ check_name: 'non_negative_duration', status: 'warn', severity: 'warn', failing_rows: 1 }])
  })

  it('row_count vsMedian fails a partition far smaller than the last runs', async () => {
    const checks = [{ type: 'row_count', vsMedian: 0.5, runs: 3 }]
    for (const day of ['2025-01-12', '2025-01-13', '2025-01-14']) {
      await addSource([1, 2, 3, 4].map((i) => `(${100 + i}, 10, 'graded', 1, 0, '${day}T0${i}:00:00Z')`).join(', '))
      expect((await build(checks, day)).status).toBe('SUCCESS')
    }
    await src.exec('delete from ev_source where id in (2, 3)')
    const small = await build(checks)
    expect(small.status).toBe('FAILED')
    expect(small.message).toContain('1 rows, below 0.5 × the median 4 of the last 3 runs')
  })

  it('an sql check can never write: a query that deletes, through a function or a CTE, is refused and the run fails', async () => {
    await db.exec(`create or replace function fx_wipe() returns bigint language sql as 'with gone as (delete from fx_events returning 1) select count(*) from gone'`)
    expect((await build([])).status).toBe('SUCCESS')
    const before = await checksum()
    const writing = await build([{ type: 'sql', query: 'select fx_wipe() as wiped' }])
    expect(writing.status).toBe('FAILED')
    expect(writing.message).toMatch(/^check 'sql' could not run: cannot execute \w+ in a read-only transaction/)
    expect(await checksum()).toBe(before)
    for (const query of ['with gone as (delete from fx_events returning *) select * from gone', 'select 1 where false; drop table fx_events']) {
      const refused = await build([{ type: 'sql', query }])
      expect(refused.status).toBe('FAILED')
      expect(await checksum()).toBe(before)
    }
  })

  it('a check that could not run at warn level only warns', async () => {
    const outcome = await build([{ type: 'sql', query: 'select 1 / (select count(*) - count(*) from {{scope}}) as boom', severity: 'warn' }])
    expect(outcome.status).toBe('SUCCESS')
    expect(await latestCheckResults(db.db)).toMatchObject([{ status: 'error', severity: 'warn' }])
  })
})

describe('bad check definitions', () => {
  const problem = async (fn: () => Promise<unknown>) => {
    try {
      await fn()
    } catch (error) {
      if (isEtlError(error)) return { exit: error.exitCode, message: error.message }
      throw error
    }
    throw new Error('did not throw')
  }

  it('an unknown column stops the command with exit 2 before anything runs', async () => {
    const job = factJob([{ type: 'not_null', columns: ['lerner_key'] }])
    const p = await problem(() => runSequence(env(), [job], '2025-01-15'))
    expect(p).toEqual({ exit: 2, message: expect.stringMatching(/^test\/build_fx_events\.ts: check 'not_null\(lerner_key\)': 'lerner_key' is not a column of fx_events \(it has date_key, id/) })
    expect(await ledgerRows(db)).toEqual([])
  })

  it('a partition already SUCCESS skips without asking the catalog about checks it would not run; forced, a bad one is still exit 2 first', async () => {
    const [built] = await runSequence(env(), [factJob([{ type: 'not_null', columns: ['learner_key'] }])], '2025-01-15')
    expect(built!.status).toBe('SUCCESS')
    const bad = factJob([{ type: 'not_null', columns: ['lerner_key'] }])
    const [skipped] = await runSequence(env(), [bad], '2025-01-15')
    expect(skipped).toMatchObject({ status: 'SKIPPED', message: expect.stringMatching(/^already SUCCESS/) })
    const rows = await ledgerRows(db)
    const p = await problem(() => runSequence(env(), [bad], '2025-01-15', { force: true }))
    expect(p).toEqual({ exit: 2, message: expect.stringContaining("'lerner_key' is not a column of fx_events") })
    expect(await ledgerRows(db)).toEqual(rows)
  })

  it('an unknown relationships table or field, and an expression naming no column, exit 2', async () => {
    for (const [check, text] of [
      [{ type: 'relationships', column: 'learner_key', to: 'fx_lerner', field: 'learner_key' }, 'there is no table fx_lerner'],
      [{ type: 'relationships', column: 'learner_key', to: 'fx_learner', field: 'key' }, "'key' is not a column of fx_learner"],
      [{ type: 'expression', sql: 'duration >= 0' }, 'column "duration" does not exist'],
      [{ type: 'sql', query: 'select * from {{scope}} where {{nope}}' }, 'unknown placeholder {{nope}}'],
    ] as const) {
      const p = await problem(() => runSequence(env(), [factJob([check])], '2025-01-15'))
      expect(p.exit).toBe(2)
      expect(p.message).toContain(text)
    }
    expect(await ledgerRows(db)).toEqual([])
  })

  it('a malformed check is a bad job file when it loads', async () => {
    for (const [check, text] of [
      [{ type: 'not_nul', columns: ['id'] }, "field 'checks[0].type'"],
      [{ type: 'row_count' }, 'needs min, max or vsMedian'],
      [{ type: 'not_null', columns: ['Bad Name'] }, "field 'checks[0].columns[0]' must be a lower-case column name"],
      [{ type: 'expression', sql: 'true; drop table x' }, 'must be one expression without ;'],
      [{ type: 'unique', columns: ['id'], severity: 'fatal' }, "field 'checks[0].severity'"],
    ] as const) {
      let error: unknown
      try {
        factJob([check])
      } catch (e) {
        error = e
      }
      expect(isEtlError(error) && error.exitCode).toBe(2)
      expect((error as Error).message).toContain(text)
    }
  })
})
