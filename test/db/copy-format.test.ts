import { sql } from 'kysely'
import pino from 'pino'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { binaryReadable } from '../../src/io/copy-format.js'
import { describeTable } from '../../src/io/describe.js'
import { loadStaging } from '../../src/io/staging.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

// Binary COPY between two servers when the column types are the same built-in ones, text
// otherwise (and always on PGlite): the rows that arrive are the same either way.
let tw: TestWarehouse
let db: Database
let src: Database

useTestDatabases((t) => ({ tw, db, src } = t))

const server = () => tw.kind === 'postgres'
const NOW = new Date('2025-03-20T12:00:00Z')

// every kind of value whose text and binary forms differ, nulls included
const SOURCE = `
  drop table if exists src_mixed;
  create table src_mixed (id bigint primary key, n integer, at timestamptz not null, day date, label varchar(20), amount numeric(10,2),
                          ok boolean, doc jsonb, tags text[], ratio double precision, span interval, raw bytea, u uuid);
  insert into src_mixed values
    (1, -5, '2025-03-01 10:00:00.123456+02', '2024-02-29', 'a "quoted"\\ tab	line', 12345678.91, true, '{"a": [1, 2.5, null]}', '{x,"y z",NULL}', 1e-300, '1 mon 2 days 03:04:05', '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    (2, null, '1999-12-31 23:59:59+00', null, null, null, null, null, null, null, null, null, null),
    (3, 2147483647, '2000-01-01 00:00+00', '-infinity', '', -0.01, false, '[]', '{}', 'NaN', '-1 day', '\\x', '00000000-0000-0000-0000-000000000000');`

const asText = async (table: string) =>
  (await sql<{ r: string }>`select (t.*)::text as r from ${sql.table(table)} t order by 1`.execute(db.db)).rows.map((x) => x.r)

/** A logger that keeps the `copy` field of the sync's last line. */
function capture() {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { log, copy: () => lines.findLast((l) => l.msg === 'synced')?.copy }
}

function job(extra: Record<string, unknown> = {}) {
  return validateJob(
    { kind: 'table-sync', name: 'sync_table_mixed', source: { table: 'public.src_mixed' }, target: 'mixed_copy', primaryKey: ['id'], incrementalColumn: 'at', ...extra },
    'test/sync_table_mixed.ts',
  )
}

async function sync(parameters: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const { log, copy } = capture()
  const outcome = await runJob({ ...runEnvFor(db, tw.config, () => NOW, src), log }, { job: job(extra), parameters })
  expect(outcome.status, outcome.message).toBe('SUCCESS')
  return copy()
}

beforeEach(async () => {
  await src.exec(SOURCE)
  await db.exec('drop table if exists mixed_copy; drop table if exists mixed_expected; truncate etl_watermarks;')
  await src.exec('drop table if exists mixed_expected; create table mixed_expected as table src_mixed')
})

describe('COPY format', () => {
  it('is binary for built-in types on a server, text for an enum or on PGlite', async () => {
    const columns = await describeTable(src, 'public.src_mixed')
    expect(await binaryReadable(src, 'select * from src_mixed', columns)).toBe(server())
    await src.exec(`drop table if exists src_enum; drop type if exists mood; create type mood as enum ('ok', 'sad');
      create table src_enum (id int, m mood); insert into src_enum values (1, 'sad')`)
    expect(await binaryReadable(src, 'select * from src_enum', await describeTable(src, 'public.src_enum'))).toBe(false)
  })

  it('moves the same values into staging as text would', async () => {
    const columns = await describeTable(src, 'public.src_mixed')
    const staged = await db.withSession((session) =>
      session.db.transaction().execute(async () => loadStaging({ source: src, query: 'select * from src_mixed', columns, warehouse: session, table: 'staging.mixed' })),
    )
    expect(staged).toBe(3)
    const expected = (await sql<{ r: string }>`select (t.*)::text as r from src_mixed t order by 1`.execute(src.db)).rows.map((x) => x.r)
    expect(await asText('staging.mixed')).toEqual(expected)
  })

  it('is binary for a sync whose target has the source types, on a first load and an incremental run, with the same rows', async () => {
    expect(await sync()).toBe(server() ? 'binary' : 'text')
    const expected = (await sql<{ r: string }>`select (t.*)::text as r from src_mixed t order by 1`.execute(src.db)).rows.map((x) => x.r)
    expect(await asText('mixed_copy')).toEqual(expected)
    await src.exec(`update src_mixed set n = 7, at = '2025-03-19 00:00+00' where id = 2; insert into src_mixed (id, at) values (4, '2025-03-19 01:00+00')`)
    expect(await sync()).toBe(server() ? 'binary' : 'text')
    const changed = (await sql<{ r: string }>`select (t.*)::text as r from src_mixed t order by 1`.execute(src.db)).rows.map((x) => x.r)
    expect(await asText('mixed_copy')).toEqual(changed)
  })

  it('falls back to text into a target whose type differs from the source, with the same rows', async () => {
    await db.exec(`create table mixed_copy (id bigint primary key, n integer, at timestamptz not null, day date, label varchar(40), amount numeric(12,2),
                   ok boolean, doc jsonb, tags text[], ratio double precision, span interval, raw bytea, u uuid)`)
    expect(await sync({ fullRefresh: true })).toBe('text')
    const expected = (await sql<{ r: string }>`select (t.*)::text as r from src_mixed t order by 1`.execute(src.db)).rows.map((x) => x.r)
    expect(await asText('mixed_copy')).toEqual(expected)
  })
})
