-- One partitioning and retention module for every time-partitioned table (issue #19).
--  * etl_storage_policies replaces etl_retention_policies: one row per table (facts, price bars,
--    table-sync targets, each tenant's metrics_time_series) with its time column, its grain (the
--    partition or chunk size), its retention (null: kept for ever) and its mode (native range
--    partitions or a TimescaleDB hypertable). The `retention` job reads it; src/storage/ writes it.
--    etl_retention_policies stays as a view of the rows that have a retention, so an operator's
--    `update etl_retention_policies set retention = …` keeps working.
--  * nightshift_ensure_partitions is the one naming and alignment rule for native partitions:
--    a chunk of N days starts on a UTC day counted from Monday 1970-01-05 (weekly chunks start on
--    Mondays), a chunk of N months (or years) on the 1st of a month counted from January 1970, and
--    it is named <table>_pYYYYMMDD after its first day. A chunk is made only when no partition
--    covers it already, whatever that one is called, so the partitions of earlier releases
--    (price_bars_daily_YYYYMM, metrics_time_series_YYYY) keep working and are never renamed.
--  * nightshift_ensure_month_partitions and nightshift_series_storage go through it.
-- up
create table etl_storage_policies (
  table_name   text primary key,
  time_column  text not null,
  -- the partition (or chunk) size: N days, weeks, months or years
  grain        text not null constraint etl_storage_policies_grain
                 check (grain ~ '^[1-9][0-9]{0,3} (day|days|week|weeks|month|months|year|years)$'),
  -- partitions whose every row is older than now − retention are dropped; null keeps them all
  retention    interval constraint etl_storage_policies_retention check (retention > interval '0'),
  mode         text not null constraint etl_storage_policies_mode check (mode in ('native', 'timescaledb')),
  -- the job that keeps the row (a sync, the tenant series, a prices load); null: this migration
  job_name     text,
  updated_at   timestamptz not null default now()
);

insert into etl_storage_policies (table_name, time_column, grain, retention, mode, job_name, updated_at)
select table_name, time_column, chunk_interval, retention, storage, job_name, updated_at from etl_retention_policies;
drop table etl_retention_policies;

create view etl_retention_policies as
select table_name, job_name, time_column, grain as chunk_interval, retention, mode as storage, updated_at
from etl_storage_policies where retention is not null;

-- the fact tables: daily partitions of date_key (YYYYMMDD in ETL_TIMEZONE), kept for ever
insert into etl_storage_policies (table_name, time_column, grain, retention, mode, job_name)
select t, 'date_key', '1 day', null, 'native', 'build_' || t
from unnest(array['fact_sessions', 'fact_focus_events', 'fact_homework_events', 'fact_recommendation_events', 'fact_learning_progress']) t
where exists (select 1 from pg_partitioned_table pt where pt.partrelid = to_regclass(t))
on conflict (table_name) do nothing;

-- the price bars: monthly partitions, or the hypertables of migration 0003 (daily bars in chunks of
-- a year, hourly ones of a month); a prices job's `retention` sets its table's on its next run
insert into etl_storage_policies (table_name, time_column, grain, retention, mode, job_name)
select t.name, t.time_column,
       case when c.relkind = 'p' then '1 month' else t.chunk end, null,
       case when c.relkind = 'p' then 'native' else 'timescaledb' end, null
from (values ('price_bars_daily', 'date', '1 year'), ('price_bars_hourly', 'ts', '1 month')) as t (name, time_column, chunk)
join pg_class c on c.oid = to_regclass(t.name)
where c.relkind = 'p' or exists (select 1 from pg_extension where extname = 'timescaledb')
on conflict (table_name) do nothing;

-- The first day of the chunk of `grain` that holds `day` (the alignment rule; src/storage/grain.ts
-- computes the same in TypeScript).
create function nightshift_chunk_start(day date, grain text) returns date language plpgsql immutable as $$
declare
  n integer := split_part(grain, ' ', 1)::integer;
  unit text := rtrim(split_part(grain, ' ', 2), 's');
  months integer;
begin
  if unit = 'week' then
    n := n * 7;
    unit := 'day';
  elsif unit = 'year' then
    n := n * 12;
    unit := 'month';
  end if;
  if unit = 'day' then
    return date '1970-01-05' + (floor((day - date '1970-01-05')::numeric / n) * n)::integer;
  elsif unit = 'month' then
    months := (extract(year from day)::integer - 1970) * 12 + extract(month from day)::integer - 1;
    months := (floor(months::numeric / n) * n)::integer;
    return (date '1970-01-01' + make_interval(months => months))::date;
  end if;
  raise exception 'grain ''%'' is not N days, weeks, months or years', grain using errcode = '22023';
end
$$;

-- Makes the native partitions of `parent` that rows on `days` need (one chunk of `grain` per day
-- not covered yet) and returns their names. A hypertable or a plain table is left alone: none.
-- The bounds are of the partition key's type: the UTC midnight for a timestamp, YYYYMMDD for an
-- integer date_key. With a default partition, the rows of the new range move out of it first.
-- Two runs racing for the same chunk: the second waits on the advisory lock, then finds it.
create function nightshift_ensure_partitions(parent regclass, grain text, days date[])
returns setof text language plpgsql as $$
declare
  nsp text;
  rel text;
  key_column text;
  key_type text;
  default_part text;
  first_day date;
  lo text;
  hi text;
  part text;
begin
  select n.nspname, c.relname into nsp, rel
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.oid = parent and c.relkind = 'p';
  if rel is null then
    return;
  end if;
  select a.attname, format_type(a.atttypid, a.atttypmod) into key_column, key_type
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  if key_type not in ('date', 'timestamp with time zone', 'timestamp without time zone', 'integer', 'bigint') then
    raise exception '% is partitioned by % of type %, not a date, a timestamp or a YYYYMMDD integer', parent, key_column, key_type
      using errcode = '22023';
  end if;
  select format('%I.%I', dn.nspname, d.relname) into default_part
  from pg_partitioned_table pt join pg_class d on d.oid = pt.partdefid join pg_namespace dn on dn.oid = d.relnamespace
  where pt.partrelid = parent;
  -- the chunks of `days` that no partition covers, whatever it is called: the catalog is read
  -- once, its bounds as UTC days (a date_key's YYYYMMDD as its day)
  for first_day in execute format($q$
    with bounds as materialized (
      select %1$s as lo, %2$s as hi
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      cross join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)') b
      where i.inhparent = $1 and b[1] not in ('MINVALUE', 'MAXVALUE') and b[2] not in ('MINVALUE', 'MAXVALUE')
    ), chunks as (
      select distinct nightshift_chunk_start(d, $2) as s from unnest($3::date[]) d where d is not null
    )
    select s from chunks
    where not exists (select 1 from bounds where lo <= s and (s + $2::interval)::date <= hi)
    order by s$q$,
    case key_type when 'date' then 'b[1]::date' when 'timestamp with time zone' then '(b[1]::timestamptz at time zone ''UTC'')::date'
      when 'timestamp without time zone' then 'b[1]::timestamp::date' else 'to_date(b[1], ''YYYYMMDD'')' end,
    case key_type when 'date' then 'b[2]::date' when 'timestamp with time zone' then '(b[2]::timestamptz at time zone ''UTC'')::date'
      when 'timestamp without time zone' then 'b[2]::timestamp::date' else 'to_date(b[2], ''YYYYMMDD'')' end)
    using parent, grain, days
  loop
    select case key_type
             when 'date' then v::text
             when 'timestamp with time zone' then v::text || ' 00:00:00+00'
             when 'timestamp without time zone' then v::text || ' 00:00:00'
             else to_char(v, 'YYYYMMDD')
           end
    into lo from (values (first_day)) x (v);
    select case key_type
             when 'date' then v::text
             when 'timestamp with time zone' then v::text || ' 00:00:00+00'
             when 'timestamp without time zone' then v::text || ' 00:00:00'
             else to_char(v, 'YYYYMMDD')
           end
    into hi from (values ((first_day + grain::interval)::date)) x (v);
    part := left(rel, 50) || '_p' || to_char(first_day, 'YYYYMMDD');
    -- a run racing for the same chunk makes it under the same name: found once its lock is ours
    perform pg_advisory_xact_lock(hashtext(format('nightshift partition %s.%s', nsp, part)));
    if to_regclass(format('%I.%I', nsp, part)) is not null then
      continue;
    end if;
    if default_part is null then
      execute format('create table %I.%I partition of %I.%I for values from (%L) to (%L)', nsp, part, nsp, rel, lo, hi);
    else
      execute format('create table %I.%I (like %I.%I including defaults)', nsp, part, nsp, rel);
      execute format(
        'with moved as (delete from %s where %I >= %L::%s and %I < %L::%s returning *) insert into %I.%I select * from moved',
        default_part, key_column, lo, key_type, key_column, hi, key_type, nsp, part);
      execute format('alter table %I.%I attach partition %I.%I for values from (%L) to (%L)', nsp, rel, nsp, part, lo, hi);
    end if;
    return next part;
  end loop;
end
$$;

-- kept for callers of migration 0003: the months of [first_day, last_day], by the rule above
create or replace function nightshift_ensure_month_partitions(parent regclass, first_day date, last_day date)
returns integer language sql as $$
  select count(*)::integer from nightshift_ensure_partitions(parent, '1 month',
    array(select generate_series(date_trunc('month', first_day::timestamp), last_day::timestamp, interval '1 month')::date))
$$;

-- The tenant series of migration 0007, its policy now in etl_storage_policies and its yearly
-- partitions made by nightshift_ensure_partitions (the window's years and the next one).
create or replace function nightshift_series_storage(p_schema text, p_from date, p_to date)
returns void language plpgsql as $fn$
declare
  v_table text := format('%I.metrics_time_series', p_schema);
  v_kind "char";
  v_timescale boolean := exists (select 1 from pg_extension where extname = 'timescaledb');
  v_hyper boolean := false;
  v_old text;
  v_first date;
  v_last date;
begin
  execute format('create schema if not exists %I', p_schema);
  select c.relkind into v_kind from pg_class c where c.oid = to_regclass(v_table);
  if v_kind = 'r' and v_timescale then
    execute $q$select exists (select 1 from timescaledb_information.hypertables h
      where h.hypertable_schema = $1 and h.hypertable_name = 'metrics_time_series')$q$ into v_hyper using p_schema;
  end if;
  if v_kind is null or (v_kind = 'r' and not v_hyper) then
    if v_kind = 'r' and not v_timescale then
      -- an earlier release's plain table: its rows move into the partitioned one
      v_old := 'metrics_time_series_unpartitioned';
      execute format('alter table %I.metrics_time_series rename to %I', p_schema, v_old);
      execute format('alter table %I.%I rename constraint metrics_time_series_key to %I', p_schema, v_old, v_old || '_key');
    end if;
    if v_kind is null or not v_timescale then
      execute format($ddl$
        create table %I.metrics_time_series (
          ts            date not null,
          series        text not null,
          value         numeric not null,
          running_sum   numeric not null,
          granularity   text not null,
          period_type   text not null,
          window_start  date not null,
          updated_at    timestamptz not null default now(),
          constraint metrics_time_series_key unique (period_type, window_start, ts, series, granularity)
        )%s$ddl$, p_schema, case when v_timescale then '' else ' partition by range (ts)' end);
    end if;
    if v_timescale then
      -- migrate_data: a plain table of an earlier release keeps its rows
      execute $q$select create_hypertable($1::regclass, 'ts', chunk_time_interval => interval '1 year', migrate_data => true)$q$ using v_table;
    end if;
  end if;
  if not v_timescale then
    if v_old is not null then
      execute format('select min(ts), max(ts) from %I.%I', p_schema, v_old) into v_first, v_last;
    end if;
    v_first := least(v_first, p_from);
    v_last := greatest(v_last, (p_to + interval '1 year')::date);
    perform nightshift_ensure_partitions(v_table::regclass, '1 year',
      array(select generate_series(date_trunc('year', v_first::timestamp), v_last::timestamp, interval '1 year')::date));
    if v_old is not null then
      execute format('insert into %I.metrics_time_series select ts, series, value, running_sum, granularity, period_type, window_start, updated_at from %I.%I',
        p_schema, p_schema, v_old);
      execute format('drop table %I.%I', p_schema, v_old);
    end if;
  end if;
  -- looked up first: an upsert on every call would lock (and so write) the policy's row each time
  if not exists (select 1 from etl_storage_policies p
                 where p.table_name = v_table and p.mode = case when v_timescale then 'timescaledb' else 'native' end) then
    insert into etl_storage_policies (table_name, job_name, time_column, grain, retention, mode)
    values (v_table, 'populate_tenant_time_series', 'ts', '1 year', interval '2 years', case when v_timescale then 'timescaledb' else 'native' end)
    on conflict (table_name) do update set mode = excluded.mode;
  end if;
end
$fn$;

-- down
-- The partitions made by the rule above stay (they are partitions like the others); the policies
-- of the facts and the price bars go, the others move back.
create or replace function nightshift_series_storage(p_schema text, p_from date, p_to date)
returns void language plpgsql as $fn$
declare
  v_table text := format('%I.metrics_time_series', p_schema);
  v_kind "char";
  v_timescale boolean := exists (select 1 from pg_extension where extname = 'timescaledb');
  v_hyper boolean := false;
  v_old text;
  v_year integer;
  v_first integer;
  v_last integer;
begin
  execute format('create schema if not exists %I', p_schema);
  select c.relkind into v_kind from pg_class c where c.oid = to_regclass(v_table);
  if v_kind = 'r' and v_timescale then
    execute $q$select exists (select 1 from timescaledb_information.hypertables h
      where h.hypertable_schema = $1 and h.hypertable_name = 'metrics_time_series')$q$ into v_hyper using p_schema;
  end if;
  if v_kind is null or (v_kind = 'r' and not v_hyper) then
    if v_kind = 'r' and not v_timescale then
      v_old := 'metrics_time_series_unpartitioned';
      execute format('alter table %I.metrics_time_series rename to %I', p_schema, v_old);
      execute format('alter table %I.%I rename constraint metrics_time_series_key to %I', p_schema, v_old, v_old || '_key');
    end if;
    if v_kind is null or not v_timescale then
      execute format($ddl$
        create table %I.metrics_time_series (
          ts            date not null,
          series        text not null,
          value         numeric not null,
          running_sum   numeric not null,
          granularity   text not null,
          period_type   text not null,
          window_start  date not null,
          updated_at    timestamptz not null default now(),
          constraint metrics_time_series_key unique (period_type, window_start, ts, series, granularity)
        )%s$ddl$, p_schema, case when v_timescale then '' else ' partition by range (ts)' end);
    end if;
    if v_timescale then
      execute $q$select create_hypertable($1::regclass, 'ts', chunk_time_interval => interval '1 year', migrate_data => true)$q$ using v_table;
    end if;
  end if;
  if not v_timescale then
    if v_old is not null then
      execute format('select extract(year from min(ts))::int, extract(year from max(ts))::int from %I.%I', p_schema, v_old) into v_first, v_last;
    end if;
    v_first := least(v_first, extract(year from p_from)::int);
    v_last := greatest(v_last, extract(year from p_to)::int + 1);
    for v_year in v_first .. v_last loop
      if to_regclass(format('%I.metrics_time_series_%s', p_schema, v_year)) is null then
        execute format('create table %I.%I partition of %I.metrics_time_series for values from (%L) to (%L)',
          p_schema, 'metrics_time_series_' || v_year, p_schema, make_date(v_year, 1, 1), make_date(v_year + 1, 1, 1));
      end if;
    end loop;
    if v_old is not null then
      execute format('insert into %I.metrics_time_series select ts, series, value, running_sum, granularity, period_type, window_start, updated_at from %I.%I',
        p_schema, p_schema, v_old);
      execute format('drop table %I.%I', p_schema, v_old);
    end if;
  end if;
  if not exists (select 1 from etl_retention_policies p
                 where p.table_name = v_table and p.storage = case when v_timescale then 'timescaledb' else 'native' end) then
    insert into etl_retention_policies (table_name, job_name, time_column, chunk_interval, retention, storage)
    values (v_table, 'populate_tenant_time_series', 'ts', '1 year', interval '2 years', case when v_timescale then 'timescaledb' else 'native' end)
    on conflict (table_name) do update set storage = excluded.storage;
  end if;
end
$fn$;

create or replace function nightshift_ensure_month_partitions(parent regclass, first_day date, last_day date)
returns integer language plpgsql as $$
declare
  nsp text;
  rel text;
  key_column text;
  key_type text;
  default_part text;
  month date := date_trunc('month', first_day)::date;
  part text;
  lo text;
  hi text;
  made integer := 0;
begin
  select n.nspname, c.relname into nsp, rel
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.oid = parent and c.relkind = 'p';
  if rel is null then
    return 0;
  end if;
  select a.attname, format_type(a.atttypid, a.atttypmod) into key_column, key_type
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  select format('%I.%I', dn.nspname, d.relname) into default_part
  from pg_partitioned_table pt join pg_class d on d.oid = pt.partdefid join pg_namespace dn on dn.oid = d.relnamespace
  where pt.partrelid = parent;
  while month <= last_day loop
    part := format('%s_%s', rel, to_char(month, 'YYYYMM'));
    if to_regclass(format('%I.%I', nsp, part)) is null then
      perform pg_advisory_xact_lock(hashtext(format('nightshift partition %s.%s', nsp, part)));
      if to_regclass(format('%I.%I', nsp, part)) is null then
        if key_type = 'date' then
          lo := month::text;
          hi := (month + interval '1 month')::date::text;
        else
          lo := month::text || ' 00:00:00+00';
          hi := (month + interval '1 month')::date::text || ' 00:00:00+00';
        end if;
        execute format('create table %I.%I (like %I.%I including defaults)', nsp, part, nsp, rel);
        if default_part is not null then
          execute format(
            'with moved as (delete from %s where %I >= %L::%s and %I < %L::%s returning *) insert into %I.%I select * from moved',
            default_part, key_column, lo, key_type, key_column, hi, key_type, nsp, part);
        end if;
        execute format('alter table %I.%I attach partition %I.%I for values from (%L) to (%L)', nsp, rel, nsp, part, lo, hi);
        made := made + 1;
      end if;
    end if;
    month := (month + interval '1 month')::date;
  end loop;
  return made;
end
$$;

drop function if exists nightshift_ensure_partitions(regclass, text, date[]);
drop function if exists nightshift_chunk_start(date, text);
drop view etl_retention_policies;
create table etl_retention_policies (
  table_name      text primary key,
  job_name        text not null,
  time_column     text not null,
  chunk_interval  text not null,
  retention       interval not null,
  storage         text not null check (storage in ('native', 'timescaledb')),
  updated_at      timestamptz not null default now()
);
insert into etl_retention_policies (table_name, job_name, time_column, chunk_interval, retention, storage, updated_at)
select table_name, job_name, time_column, grain, retention, mode, updated_at from etl_storage_policies
where retention is not null and job_name is not null;
drop table etl_storage_policies;
