import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { applyCitusPlan, citusRole, distributeNewTable } from '../../src/storage/citus/apply.js'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, hasServer, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

/*
 * Citus cannot be installed here. A stand-in proves nightshift's side of the contract: functions
 * and catalog tables named as Citus names them (citus_is_coordinator, create_distributed_table,
 * create_reference_table, citus_schema_distribute, pg_dist_partition, pg_dist_schema, an
 * extension row 'citus'), found before pg_catalog on the search path, that record each call.
 * It shows which statements run, in which order, once; not that Citus accepts them. Server
 * only: the stand-in needs the database's search_path for every connection, subprocesses too.
 */

const STAND_IN = `
create table citus_calls (n serial primary key, call text not null);
create table public.pg_extension (extname name, extversion text);
insert into public.pg_extension values ('citus', '13.2');
create table public.pg_dist_partition (logicalrelid regclass, partmethod "char", partkey text, colocationid int, repmodel "char");
create table public.pg_dist_schema (schemaid regnamespace);
create table public.pg_dist_node (nodeid int, groupid int);
create function citus_is_coordinator() returns boolean language sql as 'select true';
create function column_to_column_name(regclass, text) returns text language sql as 'select $2';
create function create_distributed_table(t regclass, col text, shard_count int default 32, colocate_with text default 'default')
returns void language sql as $$
  insert into citus_calls (call) values (format('distributed %s by %s, %s shards, colocate with %s', t, col, shard_count, colocate_with));
  insert into public.pg_dist_partition values (t, 'h', col, 1, 's');
$$;
create function create_reference_table(t regclass) returns void language sql as $$
  insert into citus_calls (call) values (format('reference %s', t));
  insert into public.pg_dist_partition values (t, 'n', null, 2, 't');
$$;
create function truncate_local_data_after_distributing_table(t regclass) returns void language sql as $$
  insert into citus_calls (call) values (format('truncate local %s', t));
$$;
create function citus_schema_distribute(s regnamespace) returns void language sql as $$
  insert into citus_calls (call) values (format('schema %s', s));
  insert into public.pg_dist_schema values (s);
$$;`

let tw: TestWarehouse
let db: Database

async function calls(): Promise<string[]> {
  const { rows } = await sql<{ call: string }>`select call from citus_calls order by n`.execute(db.db)
  await db.exec('truncate citus_calls')
  return rows.map((r) => r.call)
}

describe.skipIf(!hasServer())('on a Citus stand-in (server only: it needs the database search_path)', () => {
  beforeAll(async () => {
    tw = await createTestWarehouse()
    const setup = await tw.open()
    await setup.exec(STAND_IN)
    await setup.exec(`do $$ begin execute format('alter database %I set search_path = public, pg_catalog', current_database()); end $$`)
    // dimension and tenant series to find: a plain table of each
    await setup.exec(`create table dim_tenant (tenant_key int); create schema analytics_company_7; create table analytics_company_7.metrics_time_series (ts date)`)
    await setup.close()
    db = await tw.open()
  })

  afterAll(async () => {
    await db?.close()
    await tw?.drop()
  })

  it('etl migrate up refuses (exit 3) while the coordinator is not in the metadata, and changes nothing', async () => {
    const refused = await etl(['migrate', 'up'], tw.env)
    expect(refused.code).toBe(3)
    expect(errorLines(refused.stderr)[0]).toMatch(/coordinator is not in Citus's metadata.*citus_set_coordinator_host/)
    expect(await calls()).toEqual([])
    const plan = await etl(['citus', 'plan'], tw.env)
    expect(plan.code).toBe(0)
    expect(plan.stdout).toMatch(/^warning: the Citus coordinator is not in Citus's metadata/m)
    await db.exec('insert into public.pg_dist_node values (1, 0)')
  })

  it('etl migrate up distributes the plan in order, dim_date and then the anchor first, then skips what is done', async () => {
    expect(await citusRole(db.db)).toBe('coordinator')
    const first = await etl(['migrate', 'up'], { ...tw.env, ETL_CITUS_SHARD_COUNT: '4' })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^citus: fact_sessions made distributed$/m)
    expect(first.stdout).toMatch(/^citus: analytics_company_7\.metrics_time_series made schema$/m)
    const made = (await calls()).filter((c) => !c.startsWith('truncate'))
    expect(made).toEqual([
      // the facts' date_key references dim_date: Citus needs it a reference table before them
      'reference dim_date',
      'distributed fact_sessions by tenant_id, 4 shards, colocate with none',
      ...['fact_focus_events', 'fact_homework_events', 'fact_recommendation_events', 'fact_learning_progress', 'daily_metrics', 'weekly_metrics', 'monthly_metrics'].map(
        (t) => `distributed ${t} by tenant_id, 32 shards, colocate with "public"."fact_sessions"`,
      ),
      'reference custom_metric_values',
      'reference dim_tenant',
      'schema analytics_company_7',
    ])
    const again = await etl(['migrate', 'up'], tw.env)
    expect(again.stdout.trim()).toBe('nothing to do: the warehouse is up to date')
    expect(await calls()).toEqual([])
    expect(await applyCitusPlan(db.db, 'public', 8)).toEqual([])
  })

  it('etl citus plan shows what each table is now, and --sql has nothing left to run', async () => {
    const plan = await etl(['citus', 'plan'], tw.env)
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toMatch(/daily_metrics\s+distributed\s+tenant_id\s+with fact_sessions\s+distributed by tenant_id \(group 1\)/)
    expect(plan.stdout).toMatch(/dim_tenant\s+reference\s+-\s+-\s+reference/)
    expect(plan.stdout).toMatch(/1 of 1 schemas distributed/)
    expect(plan.stdout.trim().split('\n').at(-1)).toBe('every table has its treatment')
    expect((await etl(['citus', 'plan', '--sql'], tw.env)).stdout.trim()).toBe('-- nothing to do: every table has its treatment')
    await db.exec('create table dim_later (k int)')
    expect((await etl(['citus', 'plan', '--sql'], tw.env)).stdout.trim()).toBe(`select create_reference_table('"public"."dim_later"');`)
    await db.exec('drop table dim_later')
  })

  it('a dimension sync makes its staging and its dimension reference tables, the dimension once', async () => {
    await db.exec('create table src_people (id bigint primary key, name text, updated_at timestamptz not null)')
    await db.exec(`insert into src_people values (1, 'Ada', '2025-01-15T01:00Z'), (2, 'Bo', '2025-01-15T02:00Z')`)
    const job = validateJob(
      { kind: 'dimension', name: 'sync_dim_people', source: { table: 'public.src_people' }, businessKey: ['id'], strategy: { type: 'timestamp', updatedAt: 'updated_at' }, target: 'dim_people' },
      'test/sync_dim_people.ts',
    )
    const run = (at: string) => runJob(runEnvFor(db, tw.config, () => new Date(at), db), { job })
    expect((await run('2025-01-15T03:00Z')).status).toBe('SUCCESS')
    expect(await calls()).toEqual(['reference staging.sync_dim_people', 'reference dim_people'])
    await db.exec(`update src_people set name = 'Ada L', updated_at = '2025-01-15T04:00Z' where id = 1`)
    expect((await run('2025-01-15T05:00Z')).status).toBe('SUCCESS')
    expect(await calls()).toEqual(['reference staging.sync_dim_people'])
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from dim_people`.execute(db.db)
    expect(rows[0]!.n).toBe(3)
  })

  it('distributeNewTable gives a tenant schema schema-based sharding once, and leaves a synced table local', async () => {
    await db.exec('create schema analytics_company_8; create table analytics_company_8.metrics_time_series (ts date); create table synced_orders (id int)')
    expect(await distributeNewTable(db.db, 'analytics_company_8.metrics_time_series', 'tenant series')).toBe('schema')
    expect(await distributeNewTable(db.db, 'analytics_company_8.metrics_time_series', 'tenant series')).toBe('schema')
    expect(await distributeNewTable(db.db, 'synced_orders', 'synced table')).toBe('local')
    expect(await calls()).toEqual(['schema analytics_company_8'])
  })
})
