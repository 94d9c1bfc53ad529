-- Metrics (issue 4): daily/weekly/monthly rollups, custom metric definitions and values, and the
-- function that fills a tenant's chart table. Rollup rows carry the run that wrote them
-- (run_id), so a re-run upserts by key and then drops the keys it no longer produced.
-- up
create table daily_metrics (
  tenant_id                   bigint not null,
  date_key                    integer not null,
  metric_date                 date not null,
  active_learners             integer not null default 0,
  sessions                    integer not null default 0,
  session_minutes             numeric(14, 2) not null default 0,
  activities_completed        bigint not null default 0,
  correct_responses           bigint not null default 0,
  total_responses             bigint not null default 0,
  -- null when nobody answered anything: a rate of nothing is not 0 %
  correct_rate                numeric(7, 4),
  homework_submitted          integer not null default 0,
  homework_graded             integer not null default 0,
  homework_score_sum          numeric(14, 2) not null default 0,
  homework_avg_score          numeric(7, 2),
  recommendations_made        integer not null default 0,
  recommendations_accepted    integer not null default 0,
  recommendation_accept_rate  numeric(7, 4),
  focus_events                integer not null default 0,
  avg_focus_score             numeric(7, 2),
  new_learners                integer not null default 0,
  run_id                      uuid,
  computed_at                 timestamptz not null default now(),
  primary key (tenant_id, date_key)
);
create index daily_metrics_date on daily_metrics (metric_date);

-- weekly_metrics and monthly_metrics share their shape: sums over the period's days from
-- daily_metrics, daily averages over the days covered, growth against the previous period, and
-- how complete the period is (days whose aggregate_daily_metrics run is SUCCESS).
create table weekly_metrics (
  tenant_id                   bigint not null,
  week_start                  date not null,
  week_end                    date not null,
  days_in_period              integer not null,
  days_covered                integer not null,
  is_complete                 boolean not null,
  missing_days                date[] not null default '{}',
  active_learner_days         bigint not null,
  sessions                    bigint not null,
  session_minutes             numeric(16, 2) not null,
  activities_completed        bigint not null,
  correct_responses           bigint not null,
  total_responses             bigint not null,
  correct_rate                numeric(7, 4),
  homework_submitted          bigint not null,
  homework_graded             bigint not null,
  homework_avg_score          numeric(7, 2),
  recommendations_made        bigint not null,
  recommendations_accepted    bigint not null,
  recommendation_accept_rate  numeric(7, 4),
  new_learners                bigint not null,
  avg_daily_active_learners   numeric(12, 2),
  avg_daily_sessions          numeric(12, 2),
  avg_daily_session_minutes   numeric(14, 2),
  sessions_growth_pct         numeric(12, 2),
  session_minutes_growth_pct  numeric(12, 2),
  active_learners_growth_pct  numeric(12, 2),
  new_learners_growth_pct     numeric(12, 2),
  homework_growth_pct         numeric(12, 2),
  run_id                      uuid,
  computed_at                 timestamptz not null default now(),
  primary key (tenant_id, week_start)
);

create table monthly_metrics (
  tenant_id                   bigint not null,
  month_start                 date not null,
  month_end                   date not null,
  days_in_period              integer not null,
  days_covered                integer not null,
  is_complete                 boolean not null,
  missing_days                date[] not null default '{}',
  active_learner_days         bigint not null,
  sessions                    bigint not null,
  session_minutes             numeric(16, 2) not null,
  activities_completed        bigint not null,
  correct_responses           bigint not null,
  total_responses             bigint not null,
  correct_rate                numeric(7, 4),
  homework_submitted          bigint not null,
  homework_graded             bigint not null,
  homework_avg_score          numeric(7, 2),
  recommendations_made        bigint not null,
  recommendations_accepted    bigint not null,
  recommendation_accept_rate  numeric(7, 4),
  new_learners                bigint not null,
  avg_daily_active_learners   numeric(12, 2),
  avg_daily_sessions          numeric(12, 2),
  avg_daily_session_minutes   numeric(14, 2),
  sessions_growth_pct         numeric(12, 2),
  session_minutes_growth_pct  numeric(12, 2),
  active_learners_growth_pct  numeric(12, 2),
  new_learners_growth_pct     numeric(12, 2),
  homework_growth_pct         numeric(12, 2),
  -- the ISO weeks that touch the month, clipped to it: [{week_start, from, to, days, sessions, …}]
  weekly_breakdown            jsonb not null default '[]'::jsonb,
  run_id                      uuid,
  computed_at                 timestamptz not null default now(),
  primary key (tenant_id, month_start)
);

-- Versioned definitions: redefining a name with a change adds version n+1 and keeps the old.
create table custom_metric_definitions (
  id           bigint generated always as identity primary key,
  name         text not null,
  version      integer not null,
  description  text,
  metric_type  text not null check (metric_type in ('COUNT', 'SUM', 'AVERAGE', 'DISTINCT_COUNT', 'PERCENTILE', 'RATIO', 'MAX', 'MIN')),
  data_source  text not null,
  definition   jsonb not null,
  visibility   text not null check (visibility in ('PRIVATE', 'TEAM', 'ORGANIZATION', 'PUBLIC')),
  is_active    boolean not null default true,
  created_at   timestamptz not null default now(),
  unique (name, version)
);

create table custom_metric_values (
  name           text not null,
  version        integer not null,
  metric_date    date not null,
  -- canonical text of the dimension values, so "no dimensions" is one key ('{}')
  dimension_key  text not null,
  dimensions     jsonb not null,
  value          numeric,
  run_id         uuid,
  computed_at    timestamptz not null default now(),
  primary key (name, metric_date, dimension_key)
);

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

-- down
drop function if exists populate_company_metrics_time_series(bigint, text, date, date);
drop table custom_metric_values;
drop table custom_metric_definitions;
drop table monthly_metrics;
drop table weekly_metrics;
drop table daily_metrics;
