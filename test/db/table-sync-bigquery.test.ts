import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BigQueryValue } from '../../src/kinds/table-sync/bigquery/types.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { readWatermark } from '../../src/kinds/table-sync/watermark.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { startFakeBigQuery, type FakeBigQuery } from '../helpers/fake-bigquery.js'
import { runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let fake: FakeBigQuery
// the run's config points the BigQuery source at the fake server
let config: Config

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  fake = await startFakeBigQuery()
  config = loadConfig({ ...tw.env, ...fake.env })
})

afterAll(async () => {
  await fake?.close()
  await db?.close()
  await tw?.drop()
})

const micros = (iso: string) => String(BigInt(Date.parse(iso)) * 1000n)
const table: BigQueryValue[][] = [
  ['1', 'ada', '10.50', micros('2025-03-01T10:00:00Z'), [{ v: 'a' }, { v: 'b' }], '{"k":1}'],
  ['2', 'bo', null, micros('2025-03-10T10:00:00Z'), [], null],
]
const schema = [
  { name: 'id', type: 'INTEGER', mode: 'REQUIRED' as const },
  { name: 'name', type: 'STRING' },
  { name: 'amount', type: 'NUMERIC' },
  { name: 'updated_at', type: 'TIMESTAMP' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' as const },
  { name: 'payload', type: 'JSON' },
]

const job = validateJob(
  {
    kind: 'table-sync',
    name: 'sync_table_bq_orders',
    source: { table: 'fake-project.sales.orders', connection: 'bigquery' },
    target: 'bq_orders',
    primaryKey: ['id'],
    incrementalColumn: 'updated_at',
    lookbackDays: 1,
  },
  'test/sync_table_bq_orders.ts',
)

describe('table sync from BigQuery (local REST server)', () => {
  it('creates the target from BigQuery types, loads every page, then reads only from the watermark − lookback', async () => {
    const since: string[] = []
    fake.answer = (_q, parameters) => {
      if (parameters.since) since.push(parameters.since)
      const from = parameters.since ? Date.parse(parameters.since) : -Infinity
      return { schema, rows: table.filter((r) => Number(BigInt(r[3] as string) / 1000n) >= from) }
    }
    fake.failNext = 1 // the first call meets a 503 and is retried
    const env = runEnvFor(db, config, () => new Date('2025-03-20T00:00:00Z'))
    const first = await runJob(env, { job })
    expect(first.status, first.message).toBe('SUCCESS')
    expect(first.result).toMatchObject({ rowsProcessed: 2, rowsInserted: 2 })
    const { rows } = await sql`
      select id, name, amount::text, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as at, tags, payload
      from bq_orders order by id`.execute(db.db)
    expect(rows).toEqual([
      { id: 1, name: 'ada', amount: '10.50', at: '2025-03-01 10:00', tags: ['a', 'b'], payload: { k: 1 } },
      { id: 2, name: 'bo', amount: null, at: '2025-03-10 10:00', tags: [], payload: null },
    ])
    await db.exec("set timezone to 'UTC'")
    expect((await readWatermark(db.db, 'sync_table_bq_orders'))?.last_value).toBe('2025-03-10 10:00:00+00')

    table.push(['3', 'cy', '1', micros('2025-03-12T00:00:00Z'), [], null])
    table[1]![1] = 'bo2'
    const second = await runJob(env, { job })
    expect(second.status, second.message).toBe('SUCCESS')
    expect(second.result).toMatchObject({ rowsProcessed: 2, rowsInserted: 1, rowsUpdated: 1 })
    expect(since).toEqual(['2025-03-09 10:00:00+00:00'])
  })

  it('records a FAILED run, watermark untouched, when BigQuery refuses the credentials', async () => {
    const before = await readWatermark(db.db, 'sync_table_bq_orders')
    fake.rejectTokens = true
    try {
      // a fresh process would ask for a token: a new job object gets a new client
      const outcome = await runJob(runEnvFor(db, config), { job: validateJob({ ...job.definition }, 'test/sync_table_bq_orders.ts') })
      expect(outcome.status).toBe('FAILED')
      expect(outcome.message).toMatch(/BigQuery authentication failed/)
    } finally {
      fake.rejectTokens = false
    }
    expect(await readWatermark(db.db, 'sync_table_bq_orders')).toEqual(before)
  })

  it('keeps nested INT64, NUMERIC and non-finite FLOAT64 exact in jsonb, maps RANGE columns and reads picosecond ISO timestamps', async () => {
    const nestedSchema = [
      { name: 'id', type: 'INTEGER', mode: 'REQUIRED' as const },
      { name: 'counts', type: 'INTEGER', mode: 'REPEATED' as const },
      {
        name: 'detail',
        type: 'RECORD',
        fields: [
          { name: 'big', type: 'INTEGER' },
          { name: 'amount', type: 'BIGNUMERIC' },
          { name: 'ratio', type: 'FLOAT' },
          { name: 'ratios', type: 'FLOAT', mode: 'REPEATED' as const },
          { name: 'seen', type: 'TIMESTAMP' },
          { name: 'span', type: 'RANGE', rangeElementType: { type: 'DATE' } },
        ],
      },
      { name: 'valid', type: 'RANGE', rangeElementType: { type: 'DATE' } },
      { name: 'window', type: 'RANGE', rangeElementType: { type: 'TIMESTAMP' } },
      { name: 'at', type: 'TIMESTAMP', timestampPrecision: '12' },
    ]
    // BigQuery's REST rows: every scalar a string, records as {f: […]}, arrays as [{v}]
    const rows: BigQueryValue[][] = [
      [
        '1',
        [{ v: '9007199254740993' }, { v: '-9223372036854775808' }],
        { f: [{ v: '9223372036854775807' }, { v: '123456789012345678901234567890.123456789' }, { v: 'NaN' }, { v: [{ v: 'Infinity' }, { v: '-Infinity' }, { v: '0.1' }] }, { v: micros('2025-03-01T10:00:00Z') }, { v: '[2025-01-01, UNBOUNDED)' }] },
        '[2025-01-01, 2025-07-01)',
        `[${micros('2025-03-01T00:00:00Z')}, UNBOUNDED)`,
        '2025-03-01T10:00:00.123456789012Z',
      ],
    ]
    fake.answer = () => ({ schema: nestedSchema, rows })
    const nestedJob = validateJob(
      { kind: 'table-sync', name: 'sync_table_bq_nested', source: { table: 'fake-project.app.nested', connection: 'bigquery' }, target: 'bq_nested', primaryKey: ['id'], incrementalColumn: 'at' },
      'test/sync_table_bq_nested.ts',
    )
    const outcome = await runJob(runEnvFor(db, config), { job: nestedJob })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    const { rows: [got] } = await sql<Record<string, string>>`
      select counts::text, detail->>'big' as big, detail->>'amount' as amount, jsonb_typeof(detail->'amount') as amount_type,
        detail->>'ratio' as ratio, detail->'ratios' #>> '{}' as ratios, detail->>'seen' as seen, detail->'span' #>> '{}' as span,
        valid::text, "window"::text as w, pg_typeof("window")::text as wtype, to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as at
      from bq_nested`.execute(db.db)
    expect(got).toMatchObject({
      counts: '[9007199254740993, -9223372036854775808]',
      big: '9223372036854775807',
      amount: '123456789012345678901234567890.123456789',
      amount_type: 'number',
      ratio: 'NaN',
      ratios: '["Infinity", "-Infinity", 0.1]',
      seen: '2025-03-01 10:00:00.000000+00',
      span: '{"end": null, "start": "2025-01-01"}',
      valid: '[2025-01-01,2025-07-01)',
      wtype: 'tstzrange',
    })
    expect(got!.w).toMatch(/^\["2025-03-01 00:00:00\+00",\)$/)
    expect(got!.at).toBe('2025-03-01 10:00:00.123457')
  })
})
