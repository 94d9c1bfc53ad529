-- Storage fixes for TimescaleDB and parallel runs (issue #17).
--  * The staging schema is made here, once, instead of by every run inside its transaction:
--    parallel first runs raced on CREATE SCHEMA IF NOT EXISTS (the second waits on the first's
--    uncommitted pg_namespace row, then fails with a duplicate key). Its name follows
--    src/io/identifiers.ts stagingSchema: `staging` beside public, `<schema>_staging` otherwise.
--  * nightshift_drop_old_partitions gives drop_chunks a cut-off of the time column's own type
--    (TimescaleDB refuses a timestamptz one for a date column), and compares native bounds in
--    that type too, whatever the session's time zone.
--  * TimescaleDB's own retention policies go: the `retention` job (and the price loads) drop the
--    same chunks on their schedule, count the rows in the ledger and follow the run's clock; a
--    background policy dropped chunks first, on the real clock, uncounted.
-- up
do $$
begin
  execute format('create schema if not exists %I',
    case when current_schema() = 'public' then 'staging' else current_schema() || '_staging' end);
end
$$;

create or replace function nightshift_drop_old_partitions(parent regclass, keep interval, at timestamptz default now())
returns integer language plpgsql as $$
declare
  cutoff timestamptz := at - keep;
  child record;
  upper_bound text;
  key_column text;
  key_type text;
  -- the cut-off as text of the key's type: a date or timestamp one is the UTC day or time
  typed_cutoff text;
  expired boolean;
  dropped integer := 0;
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb')
     and not exists (select 1 from pg_class where oid = parent and relkind = 'p') then
    execute $q$
      select d.column_type::text from timescaledb_information.dimensions d
      where format('%I.%I', d.hypertable_schema, d.hypertable_name)::regclass = $1 and d.dimension_type = 'Time'
      order by d.dimension_number limit 1$q$ into key_type using parent;
    if key_type is null then
      return 0;
    end if;
    -- the cut-off in the time column's type: the UTC day of the instant for a date column
    if key_type = 'date' then
      execute 'select count(*) from drop_chunks($1, older_than => $2)' into dropped using parent, (cutoff at time zone 'UTC')::date;
    elsif key_type = 'timestamp without time zone' then
      execute 'select count(*) from drop_chunks($1, older_than => $2)' into dropped using parent, cutoff at time zone 'UTC';
    else
      execute 'select count(*) from drop_chunks($1, older_than => $2)' into dropped using parent, cutoff;
    end if;
    return dropped;
  end if;
  select a.attname, format_type(a.atttypid, a.atttypmod) into key_column, key_type
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  if key_column is null then
    return 0;
  end if;
  typed_cutoff := case when key_type like 'timestamp with%' then cutoff::text else (cutoff at time zone 'UTC')::text end;
  for child in
    select c.oid::regclass as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = parent
  loop
    if child.bound = 'DEFAULT' then
      execute format('delete from %s where %I < $1::%s', child.name, key_column, key_type) using typed_cutoff;
      continue;
    end if;
    upper_bound := (regexp_match(child.bound, 'TO \(''([^'']+)''\)'))[1];
    if upper_bound is null then
      continue;
    end if;
    execute format('select %L::%s <= $1::%s', upper_bound, key_type, key_type) into expired using typed_cutoff;
    if expired then
      execute format('drop table %s', child.name);
      dropped := dropped + 1;
    end if;
  end loop;
  return dropped;
end
$$;

do $$
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb') then
    execute $q$
      select delete_job(j.job_id) from timescaledb_information.jobs j
      where j.proc_name = 'policy_retention'
        and (j.hypertable_name = 'price_bars_hourly' and j.hypertable_schema = current_schema()
             or format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass in
                (select to_regclass(p.table_name) from etl_retention_policies p where p.storage = 'timescaledb'))$q$;
  end if;
end
$$;

-- down
-- The staging schema stays (it holds the table syncs' windows); the retention policies are not
-- added back: the retention job keeps dropping the same chunks.
create or replace function nightshift_drop_old_partitions(parent regclass, keep interval, at timestamptz default now())
returns integer language plpgsql as $$
declare
  cutoff timestamptz := at - keep;
  child record;
  upper_bound text;
  key_column text;
  dropped integer := 0;
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb')
     and not exists (select 1 from pg_class where oid = parent and relkind = 'p') then
    execute 'select count(*) from drop_chunks($1, older_than => $2)' into dropped using parent, cutoff;
    return dropped;
  end if;
  select a.attname into key_column
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  if key_column is null then
    return 0;
  end if;
  for child in
    select c.oid::regclass as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = parent
  loop
    if child.bound = 'DEFAULT' then
      execute format('delete from %s where %I < %L', child.name, key_column, cutoff);
      continue;
    end if;
    upper_bound := (regexp_match(child.bound, 'TO \(''([^'']+)''\)'))[1];
    if upper_bound is not null and upper_bound::timestamptz <= cutoff then
      execute format('drop table %s', child.name);
      dropped := dropped + 1;
    end if;
  end loop;
  return dropped;
end
$$;
