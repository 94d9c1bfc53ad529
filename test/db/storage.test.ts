import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { runJob } from '../../src/engine/runner.js'
import { chunkOf, ensurePartitions, ensurePartitionsBetween, parseGrain } from '../../src/storage/partitions.js'
import { recordRetention, setRetention } from '../../src/storage/policy.js'
import { applyRetention } from '../../src/storage/retention.js'
import { errorLines, etl } from '../helpers/cli.js'
import { useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'
import { customJob, runEnvFor } from '../helpers/run-env.js'
import { storageMode } from '../helpers/storage.js'

let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))
const retentionJob = () => customJob('retention', applyRetention, { partition: 'none' })

describe('one storage module: etl_storage_policies, one partition rule, one retention job', () => {
  it('registers every time-partitioned table of the migrations: the facts by day of date_key, the price bars by month (or their hypertables)', async () => {
    await withWarehouse(async (db) => {
      const mode = await storageMode(db.db)
      const { rows } = await sql`select table_name, time_column, grain, retention, mode from etl_storage_policies order by 1`.execute(db.db)
      const facts = ['fact_focus_events', 'fact_homework_events', 'fact_learning_progress', 'fact_recommendation_events', 'fact_sessions']
      expect(rows).toEqual([
        ...facts.map((table_name) => ({ table_name, time_column: 'date_key', grain: '1 day', retention: null, mode: 'native' })),
        { table_name: 'price_bars_daily', time_column: 'date', grain: mode === 'native' ? '1 month' : '1 year', retention: null, mode },
        { table_name: 'price_bars_hourly', time_column: 'ts', grain: '1 month', retention: null, mode },
      ])
      // the view of earlier releases shows the policies that have a retention: none yet
      expect((await sql`select * from etl_retention_policies`.execute(db.db)).rows).toEqual([])
    })
  })

  it('aligns chunks the same in SQL (nightshift_chunk_start) and in TypeScript (chunkOf)', async () => {
    await withWarehouse(async (db) => {
      for (const grain of ['1 day', '7 days', '1 week', '2 weeks', '1 month', '3 months', '1 year']) {
        for (const day of ['1969-12-31', '1970-01-05', '2024-02-29', '2025-03-19', '2025-12-31']) {
          const { rows } = await sql<{ start: string }>`select nightshift_chunk_start(${day}::date, ${grain})::text as start`.execute(db.db)
          expect(rows[0]!.start, `${grain} ${day}`).toBe(chunkOf(day, parseGrain(grain)).from)
        }
      }
    })
  })

  it('refuses a policy value it cannot apply: a grain or a retention that is not a positive interval', async () => {
    await withWarehouse(async (db) => {
      await expect(sql`update etl_storage_policies set grain = 'fortnight' where table_name = 'fact_sessions'`.execute(db.db)).rejects.toThrow(/etl_storage_policies_grain/)
      await expect(sql`update etl_storage_policies set retention = '-1 day' where table_name = 'fact_sessions'`.execute(db.db)).rejects.toThrow(/etl_storage_policies_retention/)
      await expect(sql`update etl_storage_policies set mode = 'citus' where table_name = 'fact_sessions'`.execute(db.db)).rejects.toThrow(/etl_storage_policies_mode/)
    })
  })

  it('keeps the partitions of earlier releases by their bounds: makes none beside them, and retention drops them (native)', async (t) => {
    await withWarehouse(async (db) => {
      if ((await storageMode(db.db)) === 'timescaledb') t.skip() // hypertables have chunks, not named partitions
      // a partition as migration 0003 named them: price_bars_daily_YYYYMM
      await db.exec(`create table price_bars_daily_201501 partition of price_bars_daily for values from ('2015-01-01') to ('2015-02-01')`)
      expect(await ensurePartitionsBetween({ db: db.db }, 'price_bars_daily', '2015-01-10', '2015-02-10')).toEqual(['price_bars_daily_p20150201'])
      expect(await ensurePartitionsBetween({ db: db.db }, 'price_bars_daily', '2015-01-10', '2015-02-10')).toEqual([])
      await db.exec(`insert into price_bars_daily (symbol, date, open, high, low, close, source)
        values ('OLD', '2015-01-10', 1, 1, 1, 1, 'test'), ('OLD', '2015-02-10', 1, 1, 1, 1, 'test'), ('OLD', '2015-03-10', 1, 1, 1, 1, 'test')`)
      const { rows: homes } = await sql<{ part: string }>`select tableoid::regclass::text as part from price_bars_daily where symbol = 'OLD' order by date`.execute(db.db)
      expect(homes.map((r) => r.part)).toEqual(['price_bars_daily_201501', 'price_bars_daily_p20150201', 'price_bars_daily_default'])
      // ten years from 2025-03-01: both partitions end on or before 2015-03-01; the default partition's March row stays
      await setRetention(db.db, 'price_bars_daily', '10 years', new Date())
      try {
        const outcome = await runJob(runEnvFor(db, tw.config, () => new Date('2025-03-01T06:00:00Z')), { job: retentionJob() })
        expect(outcome.status, outcome.message).toBe('SUCCESS')
        expect(outcome.result).toMatchObject({ rowsProcessed: 2, rowsDeleted: 2 })
        const { rows: left } = await sql<{ d: string }>`select date::text as d from price_bars_daily where symbol = 'OLD'`.execute(db.db)
        expect(left).toEqual([{ d: '2015-03-10' }])
      } finally {
        await setRetention(db.db, 'price_bars_daily', null, new Date())
        await db.exec(`delete from price_bars_daily where symbol = 'OLD'`)
      }
    })
  })

  it('gives a fact table retention when its policy has one: the date_key cut-off is YYYYMMDD of the UTC day', async () => {
    await withWarehouse(async (db) => {
      expect(await ensurePartitions({ db: db.db }, 'fact_sessions', ['2020-01-01', '2020-01-02', '2020-01-02'])).toEqual(['fact_sessions_p20200101', 'fact_sessions_p20200102'])
      await setRetention(db.db, 'fact_sessions', '5 years', new Date())
      try {
        // 2025-01-02 03:00 UTC − 5 years: the day 2020-01-02, so only the partition of 2020-01-01 has ended
        const outcome = await runJob(runEnvFor(db, tw.config, () => new Date('2025-01-02T03:00:00Z')), { job: retentionJob() })
        expect(outcome.status, outcome.message).toBe('SUCCESS')
        expect(outcome.result).toMatchObject({ rowsProcessed: 1 })
        const { rows } = await sql<{ name: string }>`select relname as name from pg_class where relname like 'fact_sessions_p2020%' and relkind = 'r'`.execute(db.db)
        expect(rows).toEqual([{ name: 'fact_sessions_p20200102' }])
      } finally {
        await setRetention(db.db, 'fact_sessions', null, new Date())
      }
    })
  })

  it("records a prices job's retention as its table's policy, shown by the view of earlier releases", async () => {
    await withWarehouse(async (db) => {
      await recordRetention(db.db, 'price_bars_hourly', '2 years', new Date('2025-03-01T00:00:00Z'))
      const { rows } = await sql`select table_name, retention::text from etl_retention_policies`.execute(db.db)
      expect(rows).toEqual([{ table_name: 'price_bars_hourly', retention: '2 years' }])
      await setRetention(db.db, 'price_bars_hourly', null, new Date())
    })
  })

  it('etl storage lists the policies and sets a retention; a bad retention or an unknown table is one line, exit 2', async () => {
    const bad = await etl(['storage', 'set-retention', 'fact_sessions', 'fortnight'], tw.env)
    expect(bad.code).toBe(2)
    expect(errorLines(bad.stderr)).toEqual(["etl: retention 'fortnight' is not an interval such as '90 days', '6 months' or '2 years' (or 'forever')"])
    const unknown = await etl(['storage', 'set-retention', 'no_such_table', '2 years'], tw.env)
    expect(unknown.code).toBe(2)
    expect(errorLines(unknown.stderr)).toEqual([expect.stringMatching(/^etl: no storage policy for 'no_such_table'; 'etl storage' lists them/)])
    const usage = await etl(['storage', 'set-retention', 'fact_sessions'], tw.env)
    expect(usage.code).toBe(2)
    expect(errorLines(usage.stderr)).toHaveLength(1)

    const set = await etl(['storage', 'set-retention', 'fact_homework_events', '3 years'], tw.env)
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toMatch(/^retention of fact_homework_events set to 3 years/)
    const listed = await etl(['storage', '--json'], tw.env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ table: 'fact_homework_events', retention: '3 years', grain: '1 day', mode: 'native', past_retention: 0 }))
    const text = await etl(['storage'], tw.env)
    expect(text.stdout).toMatch(/^fact_homework_events\s+date_key\s+1 day\s+3 years\s+native\s+build_fact_homework_events\s+0 \(0 rows\)$/m)
    const run = await etl(['run-job', '--job', 'retention'], tw.env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/retention\s+-\s+SUCCESS/)
    expect((await etl(['storage', 'set-retention', 'fact_homework_events', 'forever'], tw.env)).stdout).toMatch(/set to forever/)
  }, 180_000) // nine subprocesses

  it('a policy whose table has lost its time column fails that table alone: PARTIAL, naming it, exit 1', async () => {
    await withWarehouse(async (db) => {
      await db.exec(`update etl_storage_policies set retention = '1 year', time_column = 'no_such_column' where table_name = 'fact_recommendation_events'`)
    })
    try {
      const run = await etl(['run-job', '--job', 'retention'], tw.env)
      expect(run.code).toBe(1)
      expect(run.stdout).toMatch(/retention\s+-\s+PARTIAL/)
      expect(`${run.stdout}${run.stderr}`).toMatch(/fact_recommendation_events \(fact_recommendation_events has no column no_such_column\)/)
    } finally {
      await withWarehouse(async (db) => {
        await db.exec(`update etl_storage_policies set retention = null, time_column = 'date_key' where table_name = 'fact_recommendation_events'`)
      })
    }
  }, 120_000)
})
