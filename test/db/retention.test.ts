import { sql } from 'kysely'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { applyRetention } from '../../src/storage/retention.js'
import { chunkOf, chunksBetween, cutoffOf } from '../../src/storage/partitions.js'
import { parseGrain } from '../../src/storage/grain.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { customJob, ledgerRows, runEnvFor } from '../helpers/run-env.js'
import { installTimescaleStandIn, partsOf, removeTimescaleStandIn, storageMode, type StorageMode } from '../helpers/storage.js'
import { upsertCountsBothWays } from '../helpers/upsert-counts.js'

let tw: TestWarehouse
let db: Database
let src: Database

let mode: StorageMode

useTestDatabases((t) => ({ tw, db, src } = t))
beforeAll(async () => {
  mode = await storageMode(db.db)
})

beforeEach(async () => {
  await db.exec('drop table if exists events_copy; truncate etl_job_runs; truncate etl_watermarks; delete from etl_retention_policies;')
  await src.exec(`drop table if exists src_events;
    create table src_events (day date not null, id int not null, v int, primary key (day, id));`)
})

const syncJob = (retention = '4 weeks') =>
  validateJob(
    {
      kind: 'table-sync',
      name: 'sync_table_events',
      source: { table: 'public.src_events' },
      target: 'events_copy',
      primaryKey: ['day', 'id'],
      incrementalColumn: 'day',
      lookbackDays: 2,
      timePartition: { column: 'day', chunk: '7 days', retention },
    },
    'test/sync_table_events.ts',
  )

const retentionJob = () => customJob('retention', applyRetention, { partition: 'none' })

/** Partition (or chunk) names, oldest first. */
async function partitions(): Promise<string[]> {
  return (await partsOf(db.db, 'events_copy')).map((p) => p.name)
}

/** What retention at a cut-off day must drop: the parts whose range ends on or before it. */
async function expiredAt(cutoffDay: string): Promise<{ rowsProcessed: number; rowsDeleted: number }> {
  const expired = (await partsOf(db.db, 'events_copy')).filter((p) => p.to <= cutoffDay)
  return { rowsProcessed: expired.length, rowsDeleted: expired.reduce((n, p) => n + p.rows, 0) }
}

describe('time-partitioned sync targets, per storage mode', () => {
  it('aligns weekly chunks on Mondays and monthly chunks on month starts', () => {
    expect(chunkOf('2025-03-19', parseGrain('7 days'))).toEqual({ from: '2025-03-17', to: '2025-03-24' })
    expect(chunkOf('2025-03-17', parseGrain('1 week'))).toEqual({ from: '2025-03-17', to: '2025-03-24' })
    expect(chunkOf('2025-03-19', parseGrain('1 month'))).toEqual({ from: '2025-03-01', to: '2025-04-01' })
    expect(chunkOf('2025-05-19', parseGrain('3 months'))).toEqual({ from: '2025-04-01', to: '2025-07-01' })
    expect(chunkOf('1969-12-31', parseGrain('1 day'))).toEqual({ from: '1969-12-31', to: '1970-01-01' })
    expect(chunksBetween('2025-03-01', '2025-03-19', parseGrain('7 days')).map((c) => c.from)).toEqual([
      '2025-02-24', '2025-03-03', '2025-03-10', '2025-03-17',
    ])
  })

  it('creates the target partitioned by the time column, with partitions for the rows and ahead of now', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const outcome = await runJob(runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src), { job: syncJob() })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject({ rowsProcessed: 41, rowsInserted: 41 })
    if (mode === 'native') {
      // rows from Mon 02-03 to 03-15, now 03-20: chunks up to and including the one after now's
      expect(await partitions()).toEqual([
        'events_copy_p20250203', 'events_copy_p20250210', 'events_copy_p20250217', 'events_copy_p20250224',
        'events_copy_p20250303', 'events_copy_p20250310', 'events_copy_p20250317', 'events_copy_p20250324',
      ])
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from events_copy_p20250210`.execute(db.db)
      expect(rows[0]!.n).toBe(7)
    } else {
      // chunks of 7 days from the Unix epoch (Thursdays), only where rows are: 02-03 falls in the one of Thu 01-30
      const parts = await partsOf(db.db, 'events_copy')
      expect(parts.every((p) => /_hyper_\d+_\d+_chunk/.test(p.name))).toBe(true)
      expect(parts[0]).toMatchObject({ from: '2025-01-30', to: '2025-02-06', rows: 3 })
      expect(parts.at(-1)).toMatchObject({ from: '2025-03-13', to: '2025-03-20' })
    }
    const { rows: policy } = await sql`select table_name, time_column, chunk_interval, retention::text, storage from etl_retention_policies`.execute(db.db)
    expect(policy).toEqual([{ table_name: 'events_copy', time_column: 'day', chunk_interval: '7 days', retention: '28 days', storage: 'native' }])
  })

  it('retention drops exactly the partitions whose rows are all past retention, and reports them in the ledger', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    expect((await runJob(env, { job: syncJob() })).status).toBe('SUCCESS')
    // now 03-20 06:00 − 28 days = 02-20 06:00, the day 02-20: parts ending on or before it go
    const expected = await expiredAt('2025-02-20')
    const outcome = await runJob(env, { job: retentionJob() })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject(expected)
    if (mode === 'native') {
      // the 02-03 and 02-10 weeks end before it; 02-17 (ends 02-24) straddles it and stays
      expect(expected).toEqual({ rowsProcessed: 2, rowsDeleted: 14 })
      expect((await partitions())[0]).toBe('events_copy_p20250217')
      expect(await partitions()).toHaveLength(6)
    }
    const { rows } = await sql<{ first: string }>`select min(day)::text as first from events_copy`.execute(db.db)
    expect(rows[0]!.first).toBe(mode === 'native' ? '2025-02-17' : '2025-02-20')
    const [ledger] = await ledgerRows(db, 'retention')
    expect(ledger).toMatchObject({ status: 'SUCCESS', rows_deleted: expected.rowsDeleted, rows_processed: expected.rowsProcessed })
    // nothing more to drop the same day
    expect((await runJob(env, { job: retentionJob() })).result).toMatchObject({ rowsProcessed: 0, rowsDeleted: 0 })
  })

  it('an incremental sync after retention upserts into the remaining partitions and creates the new ones', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    await runJob(env, { job: syncJob() })
    await runJob(env, { job: retentionJob() })
    await sql`insert into src_events values ('2025-04-02', 1, 1); update src_events set v = -1 where day = '2025-03-14'`.execute(src.db)
    const later = runEnvFor(db, tw.config, () => new Date('2025-04-02T06:00:00Z'), src)
    const outcome = await runJob(later, { job: syncJob() })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    // window: watermark 03-15 − 2 days = 03-13: rows 03-13, 03-14, 03-15 and the new one
    expect(outcome.result).toMatchObject({ rowsProcessed: 4, rowsInserted: 1, rowsUpdated: 1 })
    // native: made ahead, the chunk after now's; TimescaleDB: the chunk of the new row only
    if (mode === 'native') expect(await partitions()).toContain('events_copy_p20250407')
    else expect((await partsOf(db.db, 'events_copy')).at(-1)).toMatchObject({ from: '2025-03-27', to: '2025-04-03', rows: 1 })
  })

  it('counts what it inserts and updates in a partitioned target from the transaction\'s own counters, and by the key with track_counts off', async () => {
    await sql`insert into src_events select '2025-03-10'::date + g, g, g from generate_series(0, 3) g`.execute(src.db)
    await runJob(runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src), { job: syncJob() })
    const columns = [{ name: 'day', type: 'date' }, { name: 'id', type: 'integer' }, { name: 'v', type: 'integer' }]
    const options = { target: 'events_copy', columns, primaryKey: ['day', 'id'], newestFirst: 'day', window: null, uniqueKeys: true }
    // 03-10 as it is, 03-11 and 03-12 changed, two new keys in two partitions
    const counts = await upsertCountsBothWays(db.db, options, (trx) =>
      sql`insert into staged values ('2025-03-10', 0, 0), ('2025-03-11', 1, 100), ('2025-03-12', 2, 200), ('2025-03-16', 9, 9), ('2025-03-17', 10, 10)`.execute(trx),
    )
    expect(counts).toEqual({ on: { inserted: 2, updated: 2 }, off: { inserted: 2, updated: 2 } })
  })

  it('trusts the window across new partitions made ahead, and not after retention dropped one', async () => {
    await sql`insert into src_events values ('2025-02-03', 0, 0), ('2025-03-13', 1, 1), ('2025-03-14', 2, 2), ('2025-03-15', 3, 3)`.execute(src.db)
    const xmaxOf = async (day: string) =>
      (await sql<{ x: string }>`select xmax::text as x from events_copy where day = ${day}`.execute(db.db)).rows[0]!.x
    const at = (iso: string) => runEnvFor(db, tw.config, () => new Date(iso), src)
    await runJob(at('2025-03-20T06:00:00Z'), { job: syncJob() })
    await runJob(at('2025-03-20T06:00:00Z'), { job: syncJob() }) // reads 03-13..03-15 again and keeps them as its window
    const compared = await xmaxOf('2025-03-14')
    // two weeks on: the run makes the partitions of now and next week, then updates one row
    await sql`update src_events set v = 30 where day = '2025-03-15'`.execute(src.db)
    const later = await runJob(at('2025-04-02T06:00:00Z'), { job: syncJob() })
    expect(later.result).toMatchObject({ rowsProcessed: 3, rowsUpdated: 1 })
    if (mode === 'native') expect(await partitions()).toContain('events_copy_p20250407')
    expect(await xmaxOf('2025-03-14')).toBe(compared)
    // retention drops the partition of 02-03: the next run compares what it reads with the target
    expect((await runJob(at('2025-04-02T06:00:00Z'), { job: retentionJob() })).result).toMatchObject({ rowsProcessed: 1 })
    await runJob(at('2025-04-02T06:00:00Z'), { job: syncJob() })
    expect(await xmaxOf('2025-03-14')).not.toBe(compared)
  })

  it('--full-refresh after retention copies every source row straight in, making the partitions retention dropped again', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    await runJob(env, { job: syncJob() })
    const ranges = async () => (await partsOf(db.db, 'events_copy')).map((p) => `${p.from}..${p.to}`)
    const all = await ranges()
    const expired = await expiredAt('2025-02-20')
    await runJob(env, { job: retentionJob() })
    expect(await ranges()).toHaveLength(all.length - expired.rowsProcessed)
    const outcome = await runJob(env, { job: syncJob(), parameters: { fullRefresh: true } })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject({ rowsProcessed: 41, rowsInserted: 41, rowsUpdated: 0 })
    expect(await ranges()).toEqual(all)
    const { rows } = await sql<{ n: number; first: string }>`select count(*)::int as n, min(day)::text as first from events_copy`.execute(db.db)
    expect(rows[0]).toEqual({ n: 41, first: '2025-02-03' })
  })

  it('loads an empty partitioned target left by a failed first load without waiting on itself for the partitions', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    await runJob(env, { job: syncJob() })
    // what a first load that failed after making the target leaves: the table, empty, and no watermark
    await db.exec(`truncate events_copy; truncate etl_watermarks; ${mode === 'native' ? 'drop table events_copy_p20250210' : ''}`)
    const outcome = await runJob(env, { job: syncJob() })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject({ rowsProcessed: 41, rowsInserted: 41 })
    if (mode === 'native') expect(await partitions()).toContain('events_copy_p20250210')
  }, 20_000)

  it('a failed drop rolls back with the run and leaves every partition', async () => {
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    await runJob(env, { job: syncJob() })
    const before = await partitions()
    const failing = customJob('retention', async (ctx) => {
      await applyRetention(ctx)
      throw new Error('simulated failure after the drops')
    }, { partition: 'none' })
    expect((await runJob(env, { job: failing })).status).toBe('FAILED')
    expect(await partitions()).toEqual(before)
  })

  it('cuts off in the time column\'s own type: the UTC day for a date, the UTC time for a timestamp', async () => {
    const now = new Date('2025-03-20T02:00:00Z')
    await sql`set timezone to 'America/New_York'`.execute(db.db)
    try {
      for (const [type, value] of [
        ['date', '2025-02-20'],
        ['timestamp without time zone', '2025-02-20 02:00:00'],
        ['timestamp with time zone', '2025-02-19 21:00:00-05'],
      ]) {
        const { rows } = await sql<{ type: string; value: string }>`
          select pg_typeof(c)::text as type, c::text as value from (select ${cutoffOf(type!, now, '28 days')} as c) q`.execute(db.db)
        expect(rows[0]).toEqual({ type, value })
      }
    } finally {
      await sql`set timezone to 'UTC'`.execute(db.db)
    }
    expect(() => cutoffOf('bigint', now, '28 days')).toThrow(/needs a date or timestamp column; this one is bigint/)
  })

  it('on a hypertable: counts the rows of the chunks show_chunks lists, then drop_chunks with a cut-off of the column\'s type (a stand-in here)', async (t) => {
    if (mode === 'timescaledb') t.skip() // the real functions are there: the tests above run on them
    await sql`insert into src_events select '2025-02-03'::date + g, g, g from generate_series(0, 40) g`.execute(src.db)
    const env = runEnvFor(db, tw.config, () => new Date('2025-03-20T06:00:00Z'), src)
    await runJob(env, { job: syncJob() })
    await db.exec(`update etl_retention_policies set storage = 'timescaledb'`)
    await installTimescaleStandIn(db.db)
    try {
      // the stand-in refuses what TimescaleDB refuses: the cut-off of 2.x's bug report
      await expect(sql`select drop_chunks('events_copy', older_than => now())`.execute(db.db)).rejects.toThrow(/invalid time argument type "timestamp with time zone"/)
      const outcome = await runJob(env, { job: retentionJob() })
      expect(outcome.status, outcome.message).toBe('SUCCESS')
      expect(outcome.result).toMatchObject({ rowsProcessed: 2, rowsDeleted: 14 })
      expect((await partitions())[0]).toBe('events_copy_p20250217')
      const [ledger] = await ledgerRows(db, 'retention')
      expect(ledger).toMatchObject({ status: 'SUCCESS', rows_deleted: 14, rows_processed: 2 })
    } finally {
      await removeTimescaleStandIn(db.db)
    }
  })
})
