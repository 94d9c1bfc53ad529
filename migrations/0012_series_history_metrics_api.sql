-- Tenant series history and the view across tenants (issue #22).
--  * Every tenant's metrics_time_series gets `is_complete`: the bucket's whole period has ended
--    within its window and every day of it was rolled up (a SUCCESS of the daily rollup job).
--  * metrics_time_series_all: one view with a tenant_id column over every
--    analytics_company_{id}.metrics_time_series, rebuilt from the catalog by
--    nightshift_series_view() — here for existing warehouses, and by ensureTenantSeriesTable
--    (src/kinds/series/table.ts) whenever it makes a tenant's table.
--  * The tenant tables are now made and filled from TypeScript (src/kinds/series/), so
--    populate_company_metrics_time_series goes; `down` brings back the one of migration 0007.
--  * custom_metric_definitions records who defined a metric through the metrics API.
-- up
do $$
declare
  v_schema text;
begin
  for v_schema in
    select n.nspname from pg_namespace n join pg_class c on c.relnamespace = n.oid
    where n.nspname ~ '^analytics_company_[0-9]+$' and c.relname = 'metrics_time_series' and c.relkind in ('r', 'p')
    order by 1
  loop
    execute format('alter table %I.metrics_time_series add column if not exists is_complete boolean not null default false', v_schema);
  end loop;
end
$$;

-- One statement from the catalog: a UNION ALL of every tenant table (with is_complete). Two
-- tenants made at once serialize on the lock, so the later one sees both tables. Returns the
-- number of tenants in the view.
create function nightshift_series_view() returns integer language plpgsql as $fn$
declare
  v_sql text;
  v_n integer;
begin
  perform pg_advisory_xact_lock(hashtext('nightshift metrics_time_series_all'));
  select count(*)::integer,
         string_agg(format('select %s::bigint as tenant_id, ts, series, value, running_sum, granularity, period_type, window_start, is_complete, updated_at from %I.metrics_time_series',
                           substr(n.nspname, 19), n.nspname), ' union all ' order by substr(n.nspname, 19)::bigint)
    into v_n, v_sql
  from pg_namespace n join pg_class c on c.relnamespace = n.oid
  where n.nspname ~ '^analytics_company_[0-9]+$' and c.relname = 'metrics_time_series' and c.relkind in ('r', 'p')
    and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'is_complete' and not a.attisdropped);
  execute 'create or replace view metrics_time_series_all as '
    || coalesce(v_sql, 'select null::bigint as tenant_id, null::date as ts, null::text as series, null::numeric as value, '
       || 'null::numeric as running_sum, null::text as granularity, null::text as period_type, null::date as window_start, '
       || 'null::boolean as is_complete, null::timestamptz as updated_at where false');
  return v_n;
end
$fn$;

select nightshift_series_view();

drop function if exists populate_company_metrics_time_series(bigint, text, date, date);

-- Who defined a custom metric through `etl serve` (the caller's token, docs/serve.md): what its
-- visibility is enforced against. Null: defined by an operator (`etl metric define`).
alter table custom_metric_definitions
  add column owner_user text,
  add column owner_team text,
  add column owner_organization text;

-- down
alter table custom_metric_definitions drop column owner_user, drop column owner_team, drop column owner_organization;
drop view if exists metrics_time_series_all;
drop function if exists nightshift_series_view();
do $$
declare
  v_schema text;
begin
  for v_schema in
    select n.nspname from pg_namespace n join pg_class c on c.relnamespace = n.oid
    where n.nspname ~ '^analytics_company_[0-9]+$' and c.relname = 'metrics_time_series' and c.relkind in ('r', 'p')
    order by 1
  loop
    execute format('alter table %I.metrics_time_series drop column if exists is_complete', v_schema);
  end loop;
end
$$;

-- the function of migration 0007, as it was
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
