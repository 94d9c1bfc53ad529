import { sql, type Kysely } from 'kysely'
import { hasTimescale } from '../../src/storage/partitions.js'

/**
 * Tests of time-partitioned tables check what each storage mode promises: native range partitions
 * (named, aligned on Mondays and month starts, made ahead) where TimescaleDB is absent, chunks
 * (`_hyper_N_M_chunk`, aligned on the Unix epoch, made only by inserts) where it is installed.
 */
export type StorageMode = 'native' | 'timescaledb'

export async function storageMode(db: Kysely<any>): Promise<StorageMode> {
  return (await hasTimescale(db)) ? 'timescaledb' : 'native'
}

export interface Part {
  readonly name: string
  /** First day (UTC) of its range, YYYY-MM-DD. */
  readonly from: string
  /** First day after its range. */
  readonly to: string
  readonly rows: number
}

/** The partitions (native) or chunks (hypertable) of a table, oldest first, with their rows. */
export async function partsOf(db: Kysely<any>, table: string): Promise<Part[]> {
  const mode = await storageMode(db)
  const { rows } =
    mode === 'native'
      ? await sql<{ name: string; from: string; to: string }>`
          select c.oid::regclass::text as name,
                 left(substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM [(]''([^'']+)''[)]'), 10) as from,
                 left(substring(pg_get_expr(c.relpartbound, c.oid) from 'TO [(]''([^'']+)''[)]'), 10) as to
          from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = ${table}::regclass and c.relpartbound is not null order by 2`.execute(db)
      : await sql<{ name: string; from: string; to: string }>`
          select format('%I.%I', chunk_schema, chunk_name) as name,
                 to_char(range_start at time zone 'UTC', 'YYYY-MM-DD') as from, to_char(range_end at time zone 'UTC', 'YYYY-MM-DD') as to
          from timescaledb_information.chunks
          where format('%I.%I', hypertable_schema, hypertable_name)::regclass = ${table}::regclass order by range_start`.execute(db)
  const parts: Part[] = []
  for (const r of rows) {
    if (r.from === 'DEFAULT' || !r.to) continue
    const { rows: n } = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(r.name)}`.execute(db)
    parts.push({ ...r, rows: n[0]!.n })
  }
  return parts
}

/**
 * A stand-in for TimescaleDB's show_chunks and drop_chunks, for servers without it: natively
 * partitioned tables play the hypertables, their partitions the chunks. It keeps what nightshift
 * relies on: `older_than` must have the time column's own type — TimescaleDB raises `invalid time
 * argument type` otherwise (ts_time_value_from_arg, src/time_utils.c) — and a chunk goes when its
 * range ends at or before the cut-off; drop_chunks returns the names, not the rows.
 */
export async function installTimescaleStandIn(db: Kysely<any>): Promise<void> {
  await sql.raw(`
    create function ts_stand_in_chunks(relation regclass, older_than anyelement) returns setof regclass language plpgsql as $$
    declare key_type text;
    begin
      select format_type(a.atttypid, a.atttypmod) into key_type
      from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
      where pt.partrelid = relation;
      if key_type is distinct from pg_typeof(older_than)::text then
        raise exception 'invalid time argument type "%"', pg_typeof(older_than) using hint = format('Try casting the argument to "%s".', key_type);
      end if;
      return query execute format($q$
        select c.oid::regclass from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = $1 and substring(pg_get_expr(c.relpartbound, c.oid) from 'TO [(]''([^'']+)''[)]')::%s <= $2
        order by 1$q$, key_type) using relation, older_than;
    end $$;
    create function show_chunks(relation regclass, older_than date) returns setof regclass language sql as 'select ts_stand_in_chunks($1, $2)';
    create function show_chunks(relation regclass, older_than timestamp) returns setof regclass language sql as 'select ts_stand_in_chunks($1, $2)';
    create function show_chunks(relation regclass, older_than timestamptz) returns setof regclass language sql as 'select ts_stand_in_chunks($1, $2)';
    create function ts_stand_in_drop(relation regclass, older_than anyelement) returns setof text language plpgsql as $$
    declare chunk regclass;
    begin
      for chunk in select ts_stand_in_chunks(relation, older_than) loop
        execute format('drop table %s', chunk);
        return next chunk::text;
      end loop;
    end $$;
    create function drop_chunks(relation regclass, older_than date) returns setof text language sql as 'select ts_stand_in_drop($1, $2)';
    create function drop_chunks(relation regclass, older_than timestamp) returns setof text language sql as 'select ts_stand_in_drop($1, $2)';
    create function drop_chunks(relation regclass, older_than timestamptz) returns setof text language sql as 'select ts_stand_in_drop($1, $2)';
  `).execute(db)
}

export async function removeTimescaleStandIn(db: Kysely<any>): Promise<void> {
  await sql.raw(`
    drop function if exists show_chunks(regclass, date), show_chunks(regclass, timestamp), show_chunks(regclass, timestamptz),
      drop_chunks(regclass, date), drop_chunks(regclass, timestamp), drop_chunks(regclass, timestamptz),
      ts_stand_in_chunks(regclass, anyelement), ts_stand_in_drop(regclass, anyelement);
  `).execute(db)
}
