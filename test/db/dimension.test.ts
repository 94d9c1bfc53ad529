import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let src: Database

useTestDatabases((t) => ({ tw, db, src } = t))

beforeEach(async () => {
  await db.exec('drop table if exists dim_customer; truncate etl_job_runs;')
  await src.exec(`drop table if exists src_customer;
    create table src_customer (id bigint primary key, name text, city text, updated_at timestamptz not null);`)
})

const T = (hhmm: string) => new Date(`2025-01-15T${hhmm}:00Z`)

function dimensionJob(extra: Record<string, unknown> = {}) {
  return validateJob(
    {
      kind: 'dimension',
      name: 'sync_dim_customer',
      source: { table: 'public.src_customer' },
      businessKey: ['id'],
      strategy: { type: 'timestamp', updatedAt: 'updated_at' },
      target: 'dim_customer',
      ...extra,
    },
    'test/sync_dim_customer.ts',
  )
}

async function sync(at: Date, extra: Record<string, unknown> = {}) {
  const outcome = await runJob(runEnvFor(db, tw.config, () => at, src), { job: dimensionJob(extra) })
  expect(outcome.status, outcome.message).toBe('SUCCESS')
  return outcome.result
}

async function versions(id: number) {
  const { rows } = await sql<{ name: string | null; city: string | null; from: string; to: string | null; current: boolean; deleted: boolean }>`
    select name, city, to_char(effective_from at time zone 'UTC', 'HH24:MI') as "from",
           to_char(effective_to at time zone 'UTC', 'HH24:MI') as "to", is_current as current, is_deleted as deleted
    from dim_customer where id = ${id} order by effective_from, customer_key`.execute(db.db)
  return rows
}

const upsert = (id: number, name: string | null, city: string | null, updatedAt: string) =>
  sql`insert into src_customer values (${id}, ${name}, ${city}, ${T(updatedAt)})
      on conflict (id) do update set name = excluded.name, city = excluded.city, updated_at = excluded.updated_at`.execute(src.db)

describe('dimension sync (SCD Type 2, timestamp strategy)', () => {
  it('creates the dimension with a surrogate key and one current version per new row, valid from updated_at', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await upsert(2, 'Bo', null, '02:00')
    const result = await sync(T('03:00'))
    expect(result).toMatchObject({ rowsProcessed: 2, rowsInserted: 2, rowsUpdated: 0 })
    expect(await versions(1)).toEqual([{ name: 'Ada', city: 'Oslo', from: '01:00', to: null, current: true, deleted: false }])
    expect(await versions(2)).toEqual([{ name: 'Bo', city: null, from: '02:00', to: null, current: true, deleted: false }])
    const { rows } = await sql<{ k: number }>`select customer_key as k from dim_customer order by k`.execute(db.db)
    expect(rows.map((r) => typeof r.k)).toEqual(['number', 'number'])
  })

  it('writes nothing for unchanged rows', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('03:00'))
    const result = await sync(T('04:00'))
    expect(result).toMatchObject({ rowsProcessed: 1, rowsInserted: 0, rowsUpdated: 0, rowsDeleted: 0 })
    expect(await versions(1)).toHaveLength(1)
  })

  it('closes the old version at the new updated_at and opens the new one there', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('03:00'))
    await upsert(1, 'Ada', 'Bergen', '05:00')
    const result = await sync(T('06:00'))
    expect(result).toMatchObject({ rowsInserted: 1, rowsUpdated: 1 })
    expect(await versions(1)).toEqual([
      { name: 'Ada', city: 'Oslo', from: '01:00', to: '05:00', current: false, deleted: false },
      { name: 'Ada', city: 'Bergen', from: '05:00', to: null, current: true, deleted: false },
    ])
  })

  it('keeps only the latest of two changes made between runs', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('03:00'))
    await upsert(1, 'Ada', 'Bergen', '04:00')
    await upsert(1, 'Ada', 'Tromsø', '05:00')
    await sync(T('06:00'))
    expect((await versions(1)).map((v) => [v.city, v.from, v.to])).toEqual([
      ['Oslo', '01:00', '05:00'],
      ['Tromsø', '05:00', null],
    ])
  })

  it('ignores a row whose updated_at went backwards', async () => {
    await upsert(1, 'Ada', 'Oslo', '05:00')
    await sync(T('06:00'))
    await upsert(1, 'Ada', 'Bergen', '04:00')
    const result = await sync(T('07:00'))
    expect(result.rowsInserted).toBe(0)
    expect((await versions(1)).map((v) => v.city)).toEqual(['Oslo'])
  })

  it('detects a change from null to a value', async () => {
    await upsert(2, 'Bo', null, '01:00')
    await sync(T('02:00'))
    await upsert(2, 'Bo', 'Oslo', '03:00')
    await sync(T('04:00'))
    expect((await versions(2)).map((v) => [v.city, v.current])).toEqual([
      [null, false],
      ['Oslo', true],
    ])
  })

  it('invalidates a deleted row at the run time, and opens a new version when it comes back', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'))
    await sql`delete from src_customer where id = 1`.execute(src.db)
    const gone = await sync(T('03:00'))
    expect(gone.rowsDeleted).toBe(1)
    expect(await versions(1)).toEqual([{ name: 'Ada', city: 'Oslo', from: '01:00', to: '03:00', current: false, deleted: false }])
    await upsert(1, 'Ada', 'Oslo', '01:00') // restored as it was: the new version starts where the old ended
    await sync(T('04:00'))
    expect((await versions(1)).map((v) => [v.from, v.to, v.current])).toEqual([
      ['01:00', '03:00', false],
      ['03:00', null, true],
    ])
  })

  it("adds a tombstone version with hardDeletes: 'new_record', and closes it on restore", async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'), { hardDeletes: 'new_record' })
    await sql`delete from src_customer where id = 1`.execute(src.db)
    await sync(T('03:00'), { hardDeletes: 'new_record' })
    await sync(T('03:30'), { hardDeletes: 'new_record' }) // still gone: no second tombstone
    expect((await versions(1)).map((v) => [v.from, v.to, v.current, v.deleted])).toEqual([
      ['01:00', '03:00', false, false],
      ['03:00', null, true, true],
    ])
    await upsert(1, 'Ada', 'Bergen', '04:00')
    await sync(T('05:00'), { hardDeletes: 'new_record' })
    expect((await versions(1)).map((v) => [v.city, v.from, v.to, v.current, v.deleted])).toEqual([
      ['Oslo', '01:00', '03:00', false, false],
      ['Oslo', '03:00', '04:00', false, true],
      ['Bergen', '04:00', null, true, false],
    ])
  })

  it("leaves a deleted row current with hardDeletes: 'ignore'", async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'), { hardDeletes: 'ignore' })
    await sql`delete from src_customer where id = 1`.execute(src.db)
    await sync(T('03:00'), { hardDeletes: 'ignore' })
    expect((await versions(1)).map((v) => v.current)).toEqual([true])
  })

  it('adds a column the source gained since the last run', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'))
    await src.exec(`alter table src_customer add column tier text; update src_customer set tier = 'gold', updated_at = '2025-01-15T03:00Z'`)
    await sync(T('04:00'))
    const { rows } = await sql<{ tier: string | null }>`select tier from dim_customer where is_current`.execute(db.db)
    expect(rows).toEqual([{ tier: 'gold' }])
  })

  it('fails clearly when the business key is not a source column', async () => {
    const outcome = await runJob(runEnvFor(db, tw.config, () => T('02:00'), src), { job: dimensionJob({ businessKey: ['customer_id'] }) })
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/the source has no column customer_id/)
  })
})

describe('dimension sync (check strategy)', () => {
  const check = (columns: string[] | 'all') => ({ strategy: { type: 'check', columns } })

  it('versions a change in a checked column at the run time, and ignores the others', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'), check(['city']))
    await upsert(1, 'Ada L.', 'Oslo', '02:30') // name is not checked
    expect((await sync(T('03:00'), check(['city']))).rowsInserted).toBe(0)
    await upsert(1, 'Ada L.', 'Bergen', '03:30')
    await sync(T('04:00'), check(['city']))
    expect((await versions(1)).map((v) => [v.city, v.from, v.to])).toEqual([
      ['Oslo', '02:00', '04:00'],
      ['Bergen', '04:00', null],
    ])
  })

  it('builds the dimension from a source query', async () => {
    await upsert(1, 'Ada', 'Oslo', '01:00')
    await sync(T('02:00'), { source: { query: 'select id, upper(name) as name, updated_at from src_customer' }, ...check('all') })
    const { rows } = await sql<{ name: string }>`select name from dim_customer`.execute(db.db)
    expect(rows).toEqual([{ name: 'ADA' }])
  })
})
