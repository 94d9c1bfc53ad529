import { sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { migrateUp, SqlFolderProvider } from '../../src/db/migrate.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

// Migration 0011 on a warehouse that already has data: facts outside dim_date's fixed span, and a
// dim_tenant made by the sync before it carried tenant_id.

let tw: TestWarehouse
let db: Database

beforeAll(async () => {
  tw = await createTestWarehouse({ migrate: false })
  db = await tw.open()
  const migrator = new Migrator({ db: db.db, provider: new SqlFolderProvider(), migrationTableSchema: 'public' })
  const before = await migrator.migrateTo('0010_checks')
  expect(before.error).toBeUndefined()
  await db.exec(`
    create table dim_tenant (tenant_key bigint generated always as identity primary key, id bigint, name text,
      row_hash text not null, is_deleted boolean not null default false, effective_from timestamptz not null,
      effective_to timestamptz, is_current boolean not null default true);
    insert into dim_tenant (id, name, row_hash, effective_from, effective_to, is_current) values
      (1, 'Acme', 'a', '2020-01-01Z', '2024-01-01Z', false), (1, 'Acme Learning', 'b', '2024-01-01Z', null, true), (2, 'Birch', 'c', '2020-01-01Z', null, true);
    create table fact_sessions_default partition of fact_sessions default;
    insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed,
                               correct_responses, total_responses, started_at, ended_at, recorded_at)
    values (1, 19991231, 1, 1, 1, 1, 1, 1, '1999-12-31Z', '1999-12-31Z', '1999-12-31Z'),
           (2, 20450102, 1, 1, 1, 1, 1, 1, '2045-01-02Z', '2045-01-02Z', '2045-01-02Z');`)
  await migrateUp(db, 'public')
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

describe('migration 0011 on an existing warehouse', () => {
  it("fills dim_date over the facts' own days beyond 2000–2039, without holes, so their foreign key holds", async () => {
    const { rows } = await sql<{ lo: string; hi: string; holes: number }>`
      select min(date)::text as lo, max(date)::text as hi, (max(date) - min(date) + 1 - count(*))::int as holes from dim_date`.execute(db.db)
    expect(rows[0]).toEqual({ lo: '1999-12-31', hi: '2045-01-02', holes: 0 })
    const { rows: fk } = await sql<{ n: number }>`
      select count(*)::int as n from pg_constraint where conname = 'fact_sessions_date_key_fkey' and conrelid = 'fact_sessions'::regclass and convalidated`.execute(db.db)
    expect(fk[0]!.n).toBe(1)
  })

  it("gives an existing dim_tenant a tenant_id column equal to id, in every version", async () => {
    const { rows } = await sql<{ id: string; tenant_id: string }>`select id, tenant_id from dim_tenant order by tenant_key`.execute(db.db)
    expect(rows.map((r) => [Number(r.id), Number(r.tenant_id)])).toEqual([[1, 1], [1, 1], [2, 2]])
  })
})
