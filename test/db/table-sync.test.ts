import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { setWatermark } from '../../src/kinds/table-sync/operator.js'
import { postgresSource } from '../../src/kinds/table-sync/source.js'
import { readWatermark } from '../../src/kinds/table-sync/watermark.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'
import { upsertCountsBothWays } from '../helpers/upsert-counts.js'

let tw: TestWarehouse
let db: Database
let src: Database

useTestDatabases((t) => ({ tw, db, src } = t))

beforeEach(async () => {
  await db.exec('drop table if exists orders_copy; drop table if exists other_copy; truncate etl_job_runs; truncate etl_watermarks;')
  await src.exec(`drop table if exists src_orders; drop table if exists src_other;
    create table src_orders (id bigint primary key, customer text not null, amount numeric(10,2), updated_at timestamptz not null);
    create table src_other (id int primary key, label text, day date not null);`)
})

const NOW = new Date('2025-03-20T12:00:00Z')

function syncJob(extra: Record<string, unknown> = {}) {
  return validateJob(
    {
      kind: 'table-sync',
      name: 'sync_table_orders',
      source: { table: 'public.src_orders' },
      target: 'orders_copy',
      primaryKey: ['id'],
      incrementalColumn: 'updated_at',
      lookbackDays: 7,
      ...extra,
    },
    'test/sync_table_orders.ts',
  )
}

const otherJob = () =>
  validateJob(
    { kind: 'table-sync', name: 'sync_table_other', source: { table: 'public.src_other' }, target: 'other_copy', primaryKey: ['id'], incrementalColumn: 'day' },
    'test/sync_table_other.ts',
  )

async function sync(job = syncJob(), parameters: Record<string, unknown> = {}) {
  return runJob(runEnvFor(db, tw.config, () => NOW, src), { job, parameters })
}

async function syncOk(job = syncJob(), parameters: Record<string, unknown> = {}) {
  const outcome = await sync(job, parameters)
  expect(outcome.status, outcome.message).toBe('SUCCESS')
  return outcome.result
}

const upsert = (id: number, customer: string, amount: number | null, updatedAt: string) =>
  sql`insert into src_orders values (${id}, ${customer}, ${amount}, ${updatedAt}::timestamptz)
      on conflict (id) do update set customer = excluded.customer, amount = excluded.amount, updated_at = excluded.updated_at`.execute(src.db)

async function target() {
  const { rows } = await sql<{ id: number; customer: string; amount: string | null }>`
    select id, customer, amount::text as amount from orders_copy order by id`.execute(db.db)
  return rows
}

async function mark(job = 'sync_table_orders') {
  await db.exec("set timezone to 'UTC'")
  return (await readWatermark(db.db, job))?.last_value ?? null
}

describe('table sync (PostgreSQL source)', () => {
  it('creates the target from the source column types with the primary key, loads everything, and sets the watermark to the max', async () => {
    await upsert(1, 'ada', 10.5, '2025-03-01T00:00Z')
    await upsert(2, 'bo', null, '2025-03-10T00:00Z')
    const result = await syncOk()
    expect(result).toMatchObject({ rowsProcessed: 2, rowsInserted: 2, rowsUpdated: 0 })
    expect(await target()).toEqual([
      { id: 1, customer: 'ada', amount: '10.50' },
      { id: 2, customer: 'bo', amount: null },
    ])
    const { rows } = await sql<{ name: string; type: string }>`
      select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
      where attrelid = 'orders_copy'::regclass and attnum > 0 and not attisdropped order by attnum`.execute(db.db)
    expect(rows).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'customer', type: 'text' },
      { name: 'amount', type: 'numeric(10,2)' },
      { name: 'updated_at', type: 'timestamp with time zone' },
    ])
    const { rows: pk } = await sql<{ def: string }>`
      select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'orders_copy'::regclass and contype = 'p'`.execute(db.db)
    expect(pk).toEqual([{ def: 'PRIMARY KEY (id)' }])
    expect(await mark()).toBe('2025-03-10 00:00:00+00')
    const [ledger] = await ledgerRows(db, 'sync_table_orders')
    expect(ledger).toMatchObject({ status: 'SUCCESS', target_date: null, rows_processed: 2, rows_inserted: 2 })
  })

  it('picks up inserts and updates inside the lookback and nothing else', async () => {
    await upsert(1, 'old', 1, '2025-02-01T00:00Z') // far before the window
    await upsert(2, 'edge', 2, '2025-03-03T00:00Z') // exactly watermark − 7 days: read again (>=)
    await upsert(3, 'recent', 3, '2025-03-08T00:00Z')
    await upsert(4, 'last', 4, '2025-03-10T00:00Z') // the watermark
    await syncOk()
    // an edit that kept its old updated_at, outside the window: not seen, by design
    await sql`update src_orders set customer = 'old-edited' where id = 1`.execute(src.db)
    // a late correction inside the window, an edit at the watermark itself, and a new row
    await sql`update src_orders set amount = 30 where id = 3`.execute(src.db)
    await sql`update src_orders set customer = 'last-edited' where id = 4`.execute(src.db)
    await upsert(5, 'new', 5, '2025-03-12T00:00Z')
    const result = await syncOk()
    // read: 2 (at the bound), 3, 4, 5; written: 5 inserted, 3 and 4 updated; 2 unchanged, not rewritten
    expect(result).toMatchObject({ rowsProcessed: 4, rowsInserted: 1, rowsUpdated: 2 })
    expect(await target()).toEqual([
      { id: 1, customer: 'old', amount: '1.00' },
      { id: 2, customer: 'edge', amount: '2.00' },
      { id: 3, customer: 'recent', amount: '30.00' },
      { id: 4, customer: 'last-edited', amount: '4.00' },
      { id: 5, customer: 'new', amount: '5.00' },
    ])
    expect(await mark()).toBe('2025-03-12 00:00:00+00')
    // nothing changed: the window (from 03-05: rows 3, 4, 5) is read again, nothing is written
    expect(await syncOk()).toMatchObject({ rowsProcessed: 3, rowsInserted: 0, rowsUpdated: 0 })
  })

  it('never moves the watermark backwards when the newest rows are deleted at the source', async () => {
    await upsert(1, 'a', 1, '2025-03-01T00:00Z')
    await upsert(2, 'b', 2, '2025-03-15T00:00Z')
    await syncOk()
    await sql`delete from src_orders where id = 2`.execute(src.db)
    await syncOk()
    expect(await mark()).toBe('2025-03-15 00:00:00+00')
  })

  it('leaves the watermark and the target as they were when the run fails between extract and commit', async () => {
    await upsert(1, 'a', 1, '2025-03-01T00:00Z')
    await syncOk()
    await upsert(2, 'b', 2, '2025-03-15T00:00Z')
    // the last step before commit fails: the watermark write itself
    await db.exec(`create or replace function fail_watermark() returns trigger language plpgsql as $$
        begin raise exception 'simulated crash before commit'; end $$;
      create trigger fail_watermark before insert or update on etl_watermarks for each row execute function fail_watermark();`)
    try {
      const failed = await sync()
      expect(failed.status).toBe('FAILED')
      expect(failed.message).toMatch(/simulated crash before commit/)
    } finally {
      await db.exec('drop trigger fail_watermark on etl_watermarks; drop function fail_watermark();')
    }
    expect(await mark()).toBe('2025-03-01 00:00:00+00')
    expect((await target()).map((r) => r.id)).toEqual([1])
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_tables where schemaname = 'staging' and tablename = 'sync_table_orders'`.execute(db.db)
    expect(rows[0]!.n).toBe(0)
    // the next run picks the row up: nothing was lost
    expect(await syncOk()).toMatchObject({ rowsInserted: 1 })
    expect(await mark()).toBe('2025-03-15 00:00:00+00')
  })

  it('fails a run whose rows the warehouse refuses mid-COPY without leaving the source\'s COPY running, holding its table', async () => {
    // 200,000 rows of ~250 bytes: far more than the sockets buffer, so the source is still sending when the warehouse refuses
    await sql`insert into src_orders select g, repeat('c', 240), g, '2025-03-01T00:00Z'::timestamptz from generate_series(1, 200000) g`.execute(src.db)
    await db.exec('create table orders_copy (id bigint primary key, customer text not null, amount numeric(10,2) check (amount < 150000), updated_at timestamptz not null)')
    const failed = await sync()
    expect(failed.status).toBe('FAILED')
    expect(failed.message).toMatch(/orders_copy_amount_check/)
    expect(await target()).toEqual([])
    // an unfinished COPY TO on a connection back in the pool would keep its lock on src_orders
    await src.exec("set lock_timeout = '5s'; drop table src_orders; reset lock_timeout")
  })

  it('--full-refresh reloads the named table from scratch and leaves the other tables and watermarks alone', async () => {
    await upsert(1, 'a', 1, '2025-03-01T00:00Z')
    await upsert(2, 'b', 2, '2025-03-15T00:00Z')
    await sql`insert into src_other values (1, 'x', '2025-03-01'), (2, 'y', '2025-03-02')`.execute(src.db)
    await syncOk()
    await syncOk(otherJob())
    const otherBefore = await readWatermark(db.db, 'sync_table_other')
    // a deleted row and an edit outside the window: only a full refresh sees them
    await sql`delete from src_orders where id = 2`.execute(src.db)
    await sql`update src_orders set customer = 'a2' where id = 1`.execute(src.db)
    await sql`delete from src_other where id = 2`.execute(src.db)
    const result = await syncOk(syncJob(), { fullRefresh: true })
    expect(result).toMatchObject({ rowsProcessed: 1, rowsInserted: 1 })
    expect(await target()).toEqual([{ id: 1, customer: 'a2', amount: '1.00' }])
    expect(await mark()).toBe('2025-03-01 00:00:00+00')
    expect(await readWatermark(db.db, 'sync_table_other')).toEqual(otherBefore)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from other_copy`.execute(db.db)
    expect(rows[0]!.n).toBe(2)
  })

  it('syncs from a query, with a date incremental column and no lookback', async () => {
    await sql`insert into src_other values (1, 'x', '2025-03-01'), (2, 'y', '2025-03-02')`.execute(src.db)
    const job = validateJob(
      {
        kind: 'table-sync',
        name: 'sync_table_other_q',
        source: { query: 'select id, upper(label) as label, day from src_other where id < 100' },
        target: 'other_copy',
        primaryKey: ['id'],
        incrementalColumn: 'day',
      },
      'test/sync_table_other_q.ts',
    )
    await syncOk(job)
    await sql`insert into src_other values (3, 'z', '2025-03-02'), (4, 'w', '2025-02-01')`.execute(src.db)
    expect(await syncOk(job)).toMatchObject({ rowsProcessed: 2, rowsInserted: 1, rowsUpdated: 0 })
    const { rows } = await sql<{ id: number; label: string }>`select id, label from other_copy order by id`.execute(db.db)
    expect(rows).toEqual([
      { id: 1, label: 'X' },
      { id: 2, label: 'Y' },
      { id: 3, label: 'Z' },
    ])
    expect(await mark('sync_table_other_q')).toBe('2025-03-02')
  })

  it('counts what it inserts and updates in a plain target from the transaction\'s own counters, and by the key with track_counts off', async () => {
    await upsert(1, 'a', 1, '2025-03-10T00:00Z')
    await upsert(2, 'b', 2, '2025-03-11T00:00Z')
    await upsert(3, 'c', 3, '2025-03-12T00:00Z')
    await syncOk()
    const columns = [{ name: 'id', type: 'bigint' }, { name: 'customer', type: 'text' }, { name: 'amount', type: 'numeric(10,2)' }, { name: 'updated_at', type: 'timestamp with time zone' }]
    const options = { target: 'orders_copy', columns, primaryKey: ['id'], newestFirst: 'updated_at', window: null, uniqueKeys: true }
    // 1 as it is, 2 and 3 changed, 4 and 5 new
    const counts = await upsertCountsBothWays(db.db, options, (trx) =>
      sql`insert into staged select id, customer, amount + case when id = 1 then 0 else 1 end, updated_at from orders_copy
          union all values (4, 'd', 4, '2025-03-13'::timestamptz), (5, 'e', 5, '2025-03-14'::timestamptz)`.execute(trx),
    )
    expect(counts).toEqual({ on: { inserted: 2, updated: 2 }, off: { inserted: 2, updated: 2 } })
  })

  it('refuses lookbackDays on a column that is not a date or a timestamp', async () => {
    await sql`insert into src_orders values (1, 'a', 1, now())`.execute(src.db)
    const outcome = await sync(syncJob({ incrementalColumn: 'id', lookbackDays: 3 }))
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/lookbackDays needs a date or timestamp incrementalColumn; id is bigint/)
  })
})

describe('table sync: the window kept between runs', () => {
  const windowRows = async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from staging."sync_table_orders$window"`.execute(db.db)
    return rows[0]!.n
  }
  // a row that an upsert's ON CONFLICT looks at is locked by it (its xmax becomes the run's
  // transaction) even when it is not rewritten; a row left out before the upsert keeps its xmax
  const xmaxOf = async (id: number) => {
    const { rows } = await sql<{ x: string }>`select xmax::text as x from orders_copy where id = ${id}`.execute(db.db)
    return rows[0]!.x
  }

  beforeEach(async () => {
    await db.exec('drop table if exists staging."sync_table_orders$window"')
    await upsert(1, 'a', 1, '2025-03-10T00:00Z')
    await upsert(2, 'b', 2, '2025-03-11T00:00Z')
    await syncOk() // the first load: straight into the target, no window
  })

  it('leaves out rows read again that equal the last run, and still writes the ones that changed', async () => {
    const loaded = await xmaxOf(1)
    expect(await syncOk()).toMatchObject({ rowsProcessed: 2, rowsInserted: 0, rowsUpdated: 0 }) // no window yet: compared with the target
    const compared = await xmaxOf(1)
    expect(compared).not.toBe(loaded)
    expect(await windowRows()).toBe(2)
    await sql`update src_orders set amount = 20 where id = 2`.execute(src.db)
    await upsert(3, 'c', 3, '2025-03-12T00:00Z')
    expect(await syncOk()).toMatchObject({ rowsProcessed: 3, rowsInserted: 1, rowsUpdated: 1 })
    expect(await xmaxOf(1)).toBe(compared)
    expect(await target()).toEqual([
      { id: 1, customer: 'a', amount: '1.00' },
      { id: 2, customer: 'b', amount: '20.00' },
      { id: 3, customer: 'c', amount: '3.00' },
    ])
    expect(await windowRows()).toBe(3)
  })

  it('hashes only window rows at or after the run\'s lower bound, and still leaves out a row read again right on it', async () => {
    await upsert(5, 'e', 5, '2025-03-18T00:00Z')
    expect(await syncOk()).toMatchObject({ rowsProcessed: 3, rowsInserted: 1 }) // from 03-04: rows 1, 2 and 5; no window yet
    await upsert(3, 'c', 3, '2025-03-25T00:00Z')
    expect(await syncOk()).toMatchObject({ rowsProcessed: 3, rowsInserted: 1, rowsUpdated: 0 }) // from 03-11 (−7 days of 03-18): rows 2, 5 and 3
    const kept = await xmaxOf(5)
    // from 03-18 (−7 days of 03-25): row 2 of the window is below it, row 5 right on it
    await upsert(3, 'c', 30, '2025-03-25T00:00Z')
    await upsert(4, 'd', 4, '2025-03-26T00:00Z')
    expect(await syncOk()).toMatchObject({ rowsProcessed: 3, rowsInserted: 1, rowsUpdated: 1 })
    expect(await xmaxOf(5)).toBe(kept)
    expect(await target()).toEqual([
      { id: 1, customer: 'a', amount: '1.00' },
      { id: 2, customer: 'b', amount: '2.00' },
      { id: 3, customer: 'c', amount: '30.00' },
      { id: 4, customer: 'd', amount: '4.00' },
      { id: 5, customer: 'e', amount: '5.00' },
    ])
  })

  it('is not trusted for a target truncated by hand: the rows read are written again', async () => {
    await syncOk()
    await db.exec('truncate orders_copy')
    expect(await syncOk()).toMatchObject({ rowsInserted: 2 })
    expect((await target()).map((r) => r.id)).toEqual([1, 2])
  })

  it('is not trusted for a target dropped and made again by hand', async () => {
    await syncOk()
    await db.exec('drop table orders_copy; create table orders_copy (id bigint primary key, customer text not null, amount numeric(10,2), updated_at timestamptz not null)')
    expect(await syncOk()).toMatchObject({ rowsInserted: 2 })
  })

  it('is dropped by etl watermarks set, so rows deleted from the target by hand come back', async () => {
    await syncOk()
    await db.exec('delete from orders_copy where id = 1')
    await setWatermark(db, { jobName: 'sync_table_orders', target: 'orders_copy', incrementalColumn: 'updated_at', value: '2025-03-11T00:00Z', now: NOW, warehouseSchema: 'public' })
    expect(await syncOk()).toMatchObject({ rowsProcessed: 2, rowsInserted: 1 })
    expect((await target()).map((r) => r.id)).toEqual([1, 2])
  })

  it('is dropped by --full-refresh, and kept as it was by a run that fails', async () => {
    await syncOk()
    expect(await windowRows()).toBe(2)
    await db.exec(`create or replace function fail_watermark() returns trigger language plpgsql as $$
        begin raise exception 'simulated crash before commit'; end $$;
      create trigger fail_watermark before insert or update on etl_watermarks for each row execute function fail_watermark();`)
    try {
      await upsert(3, 'c', 3, '2025-03-12T00:00Z')
      expect((await sync()).status).toBe('FAILED')
    } finally {
      await db.exec('drop trigger fail_watermark on etl_watermarks; drop function fail_watermark();')
    }
    expect(await windowRows()).toBe(2)
    await syncOk(syncJob(), { fullRefresh: true })
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_tables where schemaname = 'staging' and tablename like 'sync_table_orders%'`.execute(db.db)
    expect(rows[0]!.n).toBe(0)
  })

  it('is not trusted once the source has gained a column: the new column is filled for the rows read', async () => {
    await syncOk()
    await src.exec("alter table src_orders add column region text default 'eu'")
    expect(await syncOk()).toMatchObject({ rowsUpdated: 2 })
    const { rows } = await sql<{ region: string }>`select region from orders_copy order by id`.execute(db.db)
    expect(rows).toEqual([{ region: 'eu' }, { region: 'eu' }])
  })

  it('keeps the newest row of a key that a query source returns twice, on a first load and with a window', async () => {
    const twice = "select id, customer, amount, updated_at from src_orders union all select id, customer || '-old', amount, updated_at - interval '1 hour' from src_orders"
    const job = syncJob({ name: 'sync_table_orders_q', source: { query: twice } })
    await db.exec('drop table orders_copy; truncate etl_watermarks')
    expect(await syncOk(job)).toMatchObject({ rowsProcessed: 4, rowsInserted: 2 })
    await sql`update src_orders set amount = 9 where id = 1`.execute(src.db)
    expect(await syncOk(job)).toMatchObject({ rowsProcessed: 4, rowsInserted: 0, rowsUpdated: 1 }) // no window yet
    await sql`update src_orders set amount = 10 where id = 1`.execute(src.db)
    expect(await syncOk(job)).toMatchObject({ rowsProcessed: 4, rowsInserted: 0, rowsUpdated: 1 })
    expect(await target()).toEqual([
      { id: 1, customer: 'a', amount: '10.00' },
      { id: 2, customer: 'b', amount: '2.00' },
    ])
  })
})

describe('table sync sources', () => {
  it('takes a key as unique at the source only from a valid unique index on its columns, not partial, not on expressions', async () => {
    await src.exec(`drop table if exists src_keys;
      create table src_keys (a int, b int, c int, d int, e int, f int);
      create unique index on src_keys (a, b);
      create unique index on src_keys (c) where c > 0;
      create unique index on src_keys ((d + 1));
      create unique index on src_keys (e) include (f);`)
    const keys = postgresSource(src, { table: 'public.src_keys' })
    expect(await keys.uniqueKey!(['a', 'b'])).toBe(true)
    expect(await keys.uniqueKey!(['b', 'a', 'c'])).toBe(true)
    expect(await keys.uniqueKey!(['a'])).toBe(false)
    expect(await keys.uniqueKey!(['c'])).toBe(false)
    expect(await keys.uniqueKey!(['d'])).toBe(false)
    expect(await keys.uniqueKey!(['e'])).toBe(true)
    expect(await keys.uniqueKey!(['f'])).toBe(false)
    expect(postgresSource(src, { query: 'select a from src_keys' }).uniqueKey).toBeUndefined()
  })
})

describe('table sync: schema drift', () => {
  beforeEach(async () => {
    await upsert(1, 'a', 1, '2025-03-01T00:00Z')
    await syncOk()
  })

  it('adds a column the source gained, and fills it for the rows it reads', async () => {
    await src.exec(`alter table src_orders add column region text; update src_orders set region = 'eu', updated_at = '2025-03-16T00:00Z'`)
    await syncOk()
    const { rows } = await sql<{ region: string }>`select region from orders_copy`.execute(db.db)
    expect(rows).toEqual([{ region: 'eu' }])
  })

  it('fails clearly, writing nothing, when a source column was dropped', async () => {
    await src.exec('alter table src_orders drop column amount')
    const outcome = await sync()
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/the source no longer has column amount that orders_copy has/)
    expect(await mark()).toBe('2025-03-01 00:00:00+00')
  })

  it('fails clearly when a source column changed type', async () => {
    await src.exec('alter table src_orders alter column customer type integer using length(customer)')
    const outcome = await sync()
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/source column customer is now integer \(orders_copy has text\)/)
  })

  it('fails clearly when the primary key is not a source column', async () => {
    const outcome = await sync(syncJob({ primaryKey: ['order_id'] }))
    expect(outcome.status).toBe('FAILED')
    expect(outcome.message).toMatch(/the source has no column order_id/)
  })
})

describe('table sync job files', () => {
  it('names the field that is wrong', () => {
    expect(() => validateJob({ kind: 'table-sync', source: { table: 'public.x' }, target: 'x', primaryKey: ['id'] }, 'jobs/x.ts')).toThrow(
      /x\.ts: field 'incrementalColumn'/,
    )
    expect(() =>
      validateJob(
        { kind: 'table-sync', source: { table: 'public.x' }, target: 'x', primaryKey: ['id'], incrementalColumn: 'ts', timePartition: { column: 'ts', chunk: '7 days', retention: '2 years' } },
        'jobs/x.ts',
      ),
    ).toThrow(/field 'timePartition.column' must be one of the primaryKey columns/)
    expect(() =>
      validateJob(
        { kind: 'table-sync', source: { table: 'public.x' }, target: 'x', primaryKey: ['id', 'ts'], incrementalColumn: 'ts', timePartition: { column: 'ts', chunk: 'weekly', retention: '2 years' } },
        'jobs/x.ts',
      ),
    ).toThrow(/field 'timePartition.chunk' must be an interval such as '7 days'/)
  })

  it('is not part of etl run by default and has no partition', () => {
    const job = syncJob()
    expect(job.partition).toBe('none')
    expect(job.pipeline).toBe(false)
  })
})
