-- Storage fixes for TimescaleDB and parallel runs (issue #17).
--  * The staging schema is made here, once, instead of by every run inside its transaction:
--    parallel first runs raced on CREATE SCHEMA IF NOT EXISTS (the second waits on the first's
--    uncommitted pg_namespace row, then fails with a duplicate key). Its name follows
--    src/io/identifiers.ts stagingSchema: `staging` beside public, `<schema>_staging` otherwise.
--  * nightshift_drop_old_partitions gives drop_chunks a cut-off of the time column's own type
--    (TimescaleDB refuses a timestamptz one for a date column), and compares native bounds in
--    that type too, whatever the session's time zone.
--  * Each tenant's metrics_time_series is a time series table like the others (SPEC section 6):
--    a hypertable where TimescaleDB is installed, partitioned by year otherwise, with a 2-year
--    retention that the `retention` job applies; existing plain tables are converted.
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
        and (j.hypertable_schema, j.hypertable_name) in (
          select n.nspname::text, c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.oid = to_regclass('price_bars_hourly')
             or c.oid in (select to_regclass(p.table_name) from etl_retention_policies p where p.storage = 'timescaledb'))$q$;
  end if;
end
$$;

-- A tenant's analytics_company_{id}.metrics_time_series as a time series table (SPEC section 6):
-- a TimescaleDB hypertable of yearly chunks where the extension is installed, range-partitioned
-- by year of ts otherwise (metrics_time_series_YYYY, the window's years and the next one made
-- here, so a partition is rarely made on a busy day), with the retention job's policy of 2 years
-- in etl_retention_policies (its `retention` an operator may change; it is kept). A plain table
-- of an earlier release is converted, its rows kept. Yearly, not monthly, partitions: one table
-- per tenant and year is what a thousand tenants can afford.
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
  -- looked up first: an upsert on every call would lock (and so write) the policy's row each time
  if not exists (select 1 from etl_retention_policies p
                 where p.table_name = v_table and p.storage = case when v_timescale then 'timescaledb' else 'native' end) then
    insert into etl_retention_policies (table_name, job_name, time_column, chunk_interval, retention, storage)
    values (v_table, 'populate_tenant_time_series', 'ts', '1 year', interval '2 years', case when v_timescale then 'timescaledb' else 'native' end)
    on conflict (table_name) do update set storage = excluded.storage;
  end if;
end
$fn$;

-- The dashboard chart contract: fills analytics_company_{id}.metrics_time_series for one tenant
-- and one window [p_from, p_to] from daily_metrics, creating the schema and table when missing
-- (nightshift_series_storage).
-- weekly and monthly windows are day buckets, quarterly week buckets (Monday, clipped to the
-- window), yearly month buckets; running_sum accumulates over ts within (period_type,
-- window_start, series, granularity). The weekly window is rolling: it replaces the previous one.
-- Returns the rows written (unchanged rows are not rewritten).
create or replace function populate_company_metrics_time_series(p_company_id bigint, p_period text, p_from date, p_to date)
returns integer
language plpgsql
as $fn$
declare
  v_schema text;
  v_granularity text;
  v_rows integer;
  v_deleted integer := 0;
begin
  if p_company_id is null or p_company_id <= 0 then
    raise exception 'company id must be a positive integer, got %', p_company_id using errcode = '22023';
  end if;
  v_granularity := case p_period when 'weekly' then 'day' when 'monthly' then 'day' when 'quarterly' then 'week' when 'yearly' then 'month' end;
  if v_granularity is null then
    raise exception 'period must be weekly, monthly, quarterly or yearly, got %', p_period using errcode = '22023';
  end if;
  if p_from is null or p_to is null or p_from > p_to then
    raise exception 'window % .. % is empty or reversed', p_from, p_to using errcode = '22023';
  end if;
  -- the id is a bigint, so the schema name can only be analytics_company_ and digits
  v_schema := 'analytics_company_' || p_company_id::text;
  -- a time series table like the others: partitioned by year (or a hypertable), with retention
  perform nightshift_series_storage(v_schema, p_from, p_to);

  if p_period = 'weekly' then
    execute format('delete from %I.metrics_time_series where period_type = $1 and window_start <> $2', v_schema)
      using p_period, p_from;
    get diagnostics v_deleted = row_count;
  end if;

  execute format($q$
    insert into %I.metrics_time_series as t (ts, series, value, running_sum, granularity, period_type, window_start, updated_at)
    with days as (
      select $2::date + i as d from generate_series(0, $3::date - $2::date) as i
    ), buckets as (
      select d, case $4
                  when 'day' then d
                  when 'week' then greatest(d - (extract(isodow from d)::int - 1), $2::date)
                  else make_date(extract(year from d)::int, extract(month from d)::int, 1)
                end as ts
      from days
    ), per_day as (
      select m.metric_date as d, s.series, s.value
      from daily_metrics m
      cross join lateral (values
        ('sessions', m.sessions::numeric),
        ('session_minutes', m.session_minutes),
        ('activities_completed', m.activities_completed::numeric),
        ('active_learner_days', m.active_learners::numeric),
        ('new_learners', m.new_learners::numeric),
        ('homework_submitted', m.homework_submitted::numeric),
        ('recommendations_made', m.recommendations_made::numeric),
        ('recommendations_accepted', m.recommendations_accepted::numeric)
      ) as s (series, value)
      where m.tenant_id = $1 and m.metric_date >= $2::date and m.metric_date <= $3::date
    ), names as (
      select n from unnest(array['sessions', 'session_minutes', 'activities_completed', 'active_learner_days',
        'new_learners', 'homework_submitted', 'recommendations_made', 'recommendations_accepted']) as n
    ), grid as (
      select b.ts, n.n as series, coalesce(sum(p.value), 0) as value
      from buckets b cross join names n
      left join per_day p on p.d = b.d and p.series = n.n
      group by b.ts, n.n
    )
    select ts, series, value,
           sum(value) over (partition by series order by ts rows between unbounded preceding and current row),
           $4, $5, $2::date, now()
    from grid
    on conflict (period_type, window_start, ts, series, granularity) do update
      set value = excluded.value, running_sum = excluded.running_sum, updated_at = excluded.updated_at
      where (t.value, t.running_sum) is distinct from (excluded.value, excluded.running_sum)
  $q$, v_schema) using p_company_id, p_from, p_to, v_granularity, p_period;
  get diagnostics v_rows = row_count;
  return v_rows + v_deleted;
end
$fn$;

-- every tenant's table of an earlier release becomes a time series table now, not at its next run
do $$
declare
  v_schema text;
begin
  for v_schema in
    select n.nspname from pg_namespace n join pg_class c on c.relnamespace = n.oid
    where n.nspname ~ '^analytics_company_[0-9]+$' and c.relname = 'metrics_time_series' and c.relkind = 'r'
    order by 1
  loop
    perform nightshift_series_storage(v_schema, current_date, current_date);
  end loop;
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

-- the tenants' tables stay as they are (partitioned or hypertables): the function of 0004
-- finds them there and writes into them
-- The dashboard chart contract: fills analytics_company_{id}.metrics_time_series for one tenant
-- and one window [p_from, p_to] from daily_metrics, creating the schema and table when missing.
-- weekly and monthly windows are day buckets, quarterly week buckets (Monday, clipped to the
-- window), yearly month buckets; running_sum accumulates over ts within (period_type,
-- window_start, series, granularity). The weekly window is rolling: it replaces the previous one.
-- Returns the rows written (unchanged rows are not rewritten).
create or replace function populate_company_metrics_time_series(p_company_id bigint, p_period text, p_from date, p_to date)
returns integer
language plpgsql
as $fn$
declare
  v_schema text;
  v_granularity text;
  v_rows integer;
  v_deleted integer := 0;
begin
  if p_company_id is null or p_company_id <= 0 then
    raise exception 'company id must be a positive integer, got %', p_company_id using errcode = '22023';
  end if;
  v_granularity := case p_period when 'weekly' then 'day' when 'monthly' then 'day' when 'quarterly' then 'week' when 'yearly' then 'month' end;
  if v_granularity is null then
    raise exception 'period must be weekly, monthly, quarterly or yearly, got %', p_period using errcode = '22023';
  end if;
  if p_from is null or p_to is null or p_from > p_to then
    raise exception 'window % .. % is empty or reversed', p_from, p_to using errcode = '22023';
  end if;
  -- the id is a bigint, so the schema name can only be analytics_company_ and digits
  v_schema := 'analytics_company_' || p_company_id::text;
  execute format('create schema if not exists %I', v_schema);
  execute format($ddl$
    create table if not exists %I.metrics_time_series (
      ts            date not null,
      series        text not null,
      value         numeric not null,
      running_sum   numeric not null,
      granularity   text not null,
      period_type   text not null,
      window_start  date not null,
      updated_at    timestamptz not null default now(),
      constraint metrics_time_series_key unique (period_type, window_start, ts, series, granularity)
    )$ddl$, v_schema);

  if p_period = 'weekly' then
    execute format('delete from %I.metrics_time_series where period_type = $1 and window_start <> $2', v_schema)
      using p_period, p_from;
    get diagnostics v_deleted = row_count;
  end if;

  execute format($q$
    insert into %I.metrics_time_series as t (ts, series, value, running_sum, granularity, period_type, window_start, updated_at)
    with days as (
      select $2::date + i as d from generate_series(0, $3::date - $2::date) as i
    ), buckets as (
      select d, case $4
                  when 'day' then d
                  when 'week' then greatest(d - (extract(isodow from d)::int - 1), $2::date)
                  else make_date(extract(year from d)::int, extract(month from d)::int, 1)
                end as ts
      from days
    ), per_day as (
      select m.metric_date as d, s.series, s.value
      from daily_metrics m
      cross join lateral (values
        ('sessions', m.sessions::numeric),
        ('session_minutes', m.session_minutes),
        ('activities_completed', m.activities_completed::numeric),
        ('active_learner_days', m.active_learners::numeric),
        ('new_learners', m.new_learners::numeric),
        ('homework_submitted', m.homework_submitted::numeric),
        ('recommendations_made', m.recommendations_made::numeric),
        ('recommendations_accepted', m.recommendations_accepted::numeric)
      ) as s (series, value)
      where m.tenant_id = $1 and m.metric_date >= $2::date and m.metric_date <= $3::date
    ), names as (
      select n from unnest(array['sessions', 'session_minutes', 'activities_completed', 'active_learner_days',
        'new_learners', 'homework_submitted', 'recommendations_made', 'recommendations_accepted']) as n
    ), grid as (
      select b.ts, n.n as series, coalesce(sum(p.value), 0) as value
      from buckets b cross join names n
      left join per_day p on p.d = b.d and p.series = n.n
      group by b.ts, n.n
    )
    select ts, series, value,
           sum(value) over (partition by series order by ts rows between unbounded preceding and current row),
           $4, $5, $2::date, now()
    from grid
    on conflict (period_type, window_start, ts, series, granularity) do update
      set value = excluded.value, running_sum = excluded.running_sum, updated_at = excluded.updated_at
      where (t.value, t.running_sum) is distinct from (excluded.value, excluded.running_sum)
  $q$, v_schema) using p_company_id, p_from, p_to, v_granularity, p_period;
  get diagnostics v_rows = row_count;
  return v_rows + v_deleted;
end
$fn$;
delete from etl_retention_policies where job_name = 'populate_tenant_time_series';
drop function if exists nightshift_series_storage(text, date, date);
