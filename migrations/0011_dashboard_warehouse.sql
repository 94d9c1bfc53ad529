-- The warehouse a dashboard developer wants (issue #22, docs/dimensions-and-facts.md):
--  * dim_date: one row per calendar day, keyed by date_key (YYYYMMDD, the facts' key). A calendar
--    date has no zone; "today" and the days a fact build covers are days in ETL_TIMEZONE.
--    nightshift_extend_dim_date grows it at its ends, never with holes; this migration fills
--    2000-01-01 .. 2039-12-31 and whatever older or newer days the facts already hold, and every
--    fact build extends it to its day and to today. The built-in facts' date_key references it
--    (a foreign key from a partitioned table works on PostgreSQL 12+ and PGlite), so the fixed
--    span is what lets hand-loaded facts (tests, the benchmark, an operator's repair) insert.
--  * weekly/monthly distinct active learners (WAU/MAU) counted from the facts, with their growth.
--  * tenant_name beside tenant_id in the rollups: the dim_tenant version valid at the period's end.
--  * dim_tenant.tenant_id: the same value as its business key id, so every table names the tenant
--    tenant_id. sync_dim_tenant's source query now carries it; an existing dim_tenant gets it here.
--  * COMMENT ON the built-in tables and their columns: what `etl docs` prints.
-- up
create table dim_date (
  date_key        integer primary key,
  date            date not null unique,
  year            integer not null,
  quarter         integer not null,
  quarter_start   date not null,
  month           integer not null,
  month_name      text not null,
  month_start     date not null,
  iso_year        integer not null,
  iso_week        integer not null,
  iso_week_label  text not null,
  week_start      date not null,
  weekday         integer not null,
  weekday_name    text not null,
  is_weekend      boolean not null,
  day_of_month    integer not null,
  day_of_year     integer not null
);

-- Makes dim_date cover [p_from, p_to] and everything between it and the days already there, so
-- the calendar stays one unbroken run of days. Returns the days added; re-running adds none.
create function nightshift_extend_dim_date(p_from date, p_to date) returns integer language plpgsql as $fn$
declare
  lo date;
  hi date;
  added integer;
begin
  if p_from is null or p_to is null or p_from > p_to then
    raise exception 'dim_date range % .. % is empty or reversed', p_from, p_to using errcode = '22023';
  end if;
  select min(date), max(date) into lo, hi from dim_date;
  if lo is null then
    lo := p_to + 1;
    hi := p_to;
  end if;
  insert into dim_date (date_key, date, year, quarter, quarter_start, month, month_name, month_start, iso_year, iso_week,
                        iso_week_label, week_start, weekday, weekday_name, is_weekend, day_of_month, day_of_year)
  select to_char(d, 'YYYYMMDD')::integer, d,
         extract(year from d)::integer, extract(quarter from d)::integer,
         make_date(extract(year from d)::integer, (extract(quarter from d)::integer - 1) * 3 + 1, 1),
         extract(month from d)::integer, to_char(d, 'FMMonth'), make_date(extract(year from d)::integer, extract(month from d)::integer, 1),
         extract(isoyear from d)::integer, extract(week from d)::integer, to_char(d, 'IYYY-"W"IW'),
         d - (extract(isodow from d)::integer - 1),
         extract(isodow from d)::integer, to_char(d, 'FMDay'), extract(isodow from d) in (6, 7),
         extract(day from d)::integer, extract(doy from d)::integer
  from (
    select p_from + i as d from generate_series(0, lo - p_from - 1) as i
    union all
    select hi + 1 + i from generate_series(0, p_to - hi - 1) as i
  ) days
  on conflict (date_key) do nothing;
  get diagnostics added = row_count;
  return added;
end
$fn$;

select nightshift_extend_dim_date(least('2000-01-01'::date, to_date(min(date_key)::text, 'YYYYMMDD')),
                                  greatest('2039-12-31'::date, to_date(max(date_key)::text, 'YYYYMMDD')))
from (
  select min(date_key) as date_key from fact_sessions union all select max(date_key) from fact_sessions
  union all select min(date_key) from fact_focus_events union all select max(date_key) from fact_focus_events
  union all select min(date_key) from fact_homework_events union all select max(date_key) from fact_homework_events
  union all select min(date_key) from fact_recommendation_events union all select max(date_key) from fact_recommendation_events
  union all select min(date_key) from fact_learning_progress union all select max(date_key) from fact_learning_progress
) k;

alter table fact_sessions add constraint fact_sessions_date_key_fkey foreign key (date_key) references dim_date (date_key);
alter table fact_focus_events add constraint fact_focus_events_date_key_fkey foreign key (date_key) references dim_date (date_key);
alter table fact_homework_events add constraint fact_homework_events_date_key_fkey foreign key (date_key) references dim_date (date_key);
alter table fact_recommendation_events add constraint fact_recommendation_events_date_key_fkey foreign key (date_key) references dim_date (date_key);
alter table fact_learning_progress add constraint fact_learning_progress_date_key_fkey foreign key (date_key) references dim_date (date_key);

-- null in rows written before this migration: re-run the period (etl rollup weekly --week D) to fill them
alter table weekly_metrics add column weekly_active_learners bigint, add column weekly_active_learners_growth_pct numeric(12, 2),
  add column tenant_name text;
alter table monthly_metrics add column monthly_active_learners bigint, add column monthly_active_learners_growth_pct numeric(12, 2),
  add column tenant_name text;
alter table daily_metrics add column tenant_name text;

-- a warehouse whose dim_tenant predates the key's new name: the column, filled from id
do $do$
begin
  if to_regclass('dim_tenant') is not null
     and not exists (select 1 from pg_attribute where attrelid = to_regclass('dim_tenant') and attname = 'tenant_id' and not attisdropped) then
    alter table dim_tenant add column tenant_id bigint;
    update dim_tenant set tenant_id = id;
  end if;
end
$do$;

comment on table dim_date is 'One row per calendar day, unbroken; the facts'' date_key references it. Filled 2000–2039 by migration 0011 and extended by every fact build to its day and to today in ETL_TIMEZONE.';
comment on column dim_date.date_key is 'YYYYMMDD as an integer: the facts'' and daily_metrics'' date_key';
comment on column dim_date.date is 'the calendar day';
comment on column dim_date.year is 'calendar year';
comment on column dim_date.quarter is 'calendar quarter, 1–4';
comment on column dim_date.quarter_start is 'first day of the quarter';
comment on column dim_date.month is 'month of the year, 1–12';
comment on column dim_date.month_name is 'English month name (January)';
comment on column dim_date.month_start is 'first day of the month';
comment on column dim_date.iso_year is 'ISO 8601 week-numbering year (differs from year around New Year)';
comment on column dim_date.iso_week is 'ISO 8601 week number, 1–53';
comment on column dim_date.iso_week_label is 'ISO week as text, e.g. 2025-W03';
comment on column dim_date.week_start is 'Monday of the ISO week: weekly_metrics.week_start';
comment on column dim_date.weekday is 'ISO weekday: 1 Monday … 7 Sunday';
comment on column dim_date.weekday_name is 'English weekday name (Monday)';
comment on column dim_date.is_weekend is 'Saturday or Sunday';
comment on column dim_date.day_of_month is 'day of the month, 1–31';
comment on column dim_date.day_of_year is 'day of the year, 1–366';

comment on table fact_sessions is 'One row per learning session, on the day (ETL_TIMEZONE) it started; keys point at the dimension versions valid then.';
comment on table fact_focus_events is 'One row per focus event, on the day it occurred.';
comment on table fact_homework_events is 'One row per homework submission, on the day it was submitted.';
comment on table fact_recommendation_events is 'One row per recommendation, on the day it was made.';
comment on table fact_learning_progress is 'Daily snapshot: each learner''s mastery of each skill as of the end of the day.';
comment on column fact_sessions.date_key is 'the day (YYYYMMDD in ETL_TIMEZONE); references dim_date';
comment on column fact_focus_events.date_key is 'the day (YYYYMMDD in ETL_TIMEZONE); references dim_date';
comment on column fact_homework_events.date_key is 'the day (YYYYMMDD in ETL_TIMEZONE); references dim_date';
comment on column fact_recommendation_events.date_key is 'the day (YYYYMMDD in ETL_TIMEZONE); references dim_date';
comment on column fact_learning_progress.date_key is 'the snapshot''s day (YYYYMMDD in ETL_TIMEZONE); references dim_date';
comment on column fact_sessions.tenant_id is 'the tenant (dim_tenant.tenant_id)';
comment on column fact_focus_events.tenant_id is 'the tenant (dim_tenant.tenant_id)';
comment on column fact_homework_events.tenant_id is 'the tenant (dim_tenant.tenant_id)';
comment on column fact_recommendation_events.tenant_id is 'the tenant (dim_tenant.tenant_id)';
comment on column fact_learning_progress.tenant_id is 'the tenant (dim_tenant.tenant_id)';
comment on column fact_sessions.tenant_key is 'dim_tenant version valid when the session started';
comment on column fact_sessions.learner_key is 'dim_learner version valid when the session started';
comment on column fact_sessions.subject_key is 'dim_subject version valid when the session started';
comment on column fact_sessions.duration_seconds is 'length of the session';
comment on column fact_sessions.started_at is 'the event''s time: what puts the row on its day';
comment on column fact_sessions.recorded_at is 'when the source recorded the row (late-arriving events are rebuilt by lookback)';
comment on column fact_focus_events.focus_score is 'focus score, 0–100';
comment on column fact_homework_events.score is 'null until graded';
comment on column fact_recommendation_events.accepted is 'null while undecided';
comment on column fact_learning_progress.mastery_level is 'mastery, 0–1, as of the end of the day';

comment on table daily_metrics is 'One row per active tenant and day (zeros where nothing happened) and per tenant with facts that day, from the day''s facts.';
comment on column daily_metrics.tenant_id is 'the tenant';
comment on column daily_metrics.tenant_name is 'the tenant''s name in the dim_tenant version valid at the end of the day';
comment on column daily_metrics.date_key is 'the day (YYYYMMDD in ETL_TIMEZONE); dim_date.date_key';
comment on column daily_metrics.metric_date is 'the day';
comment on column daily_metrics.active_learners is 'distinct learners with a session or a homework submission that day';
comment on column daily_metrics.new_learners is 'learners created that day (dim_learner.created_at)';
comment on column daily_metrics.correct_rate is 'correct / total responses; null when nobody answered';
comment on column daily_metrics.run_id is 'the run that wrote the row';

comment on table weekly_metrics is 'One row per tenant and ISO week (Monday start), from daily_metrics; weekly_active_learners from the facts.';
comment on column weekly_metrics.tenant_name is 'the tenant''s name in the dim_tenant version valid at the end of the week';
comment on column weekly_metrics.week_start is 'Monday of the week: dim_date.week_start';
comment on column weekly_metrics.is_complete is 'every day of the week has a SUCCESS daily rollup';
comment on column weekly_metrics.active_learner_days is 'sum over the days of daily active learners (a learner counts once per day)';
comment on column weekly_metrics.weekly_active_learners is 'WAU: distinct learners active on any day of the week, from the facts (a learner active on three days counts once)';
comment on column weekly_metrics.weekly_active_learners_growth_pct is 'WAU against the previous week, %; null when either week is incomplete or the previous is 0';
comment on table monthly_metrics is 'One row per tenant and calendar month, from daily_metrics; monthly_active_learners from the facts.';
comment on column monthly_metrics.tenant_name is 'the tenant''s name in the dim_tenant version valid at the end of the month';
comment on column monthly_metrics.month_start is 'first day of the month: dim_date.month_start';
comment on column monthly_metrics.is_complete is 'every day of the month has a SUCCESS daily rollup';
comment on column monthly_metrics.active_learner_days is 'sum over the days of daily active learners (a learner counts once per day)';
comment on column monthly_metrics.monthly_active_learners is 'MAU: distinct learners active on any day of the month, from the facts';
comment on column monthly_metrics.monthly_active_learners_growth_pct is 'MAU against the previous month, %; null when either month is incomplete or the previous is 0';
comment on column monthly_metrics.weekly_breakdown is 'the ISO weeks that touch the month, clipped to it; active_learners: distinct learners in that part of the week';

-- the columns weekly_metrics and monthly_metrics share, and daily_metrics' measures
do $do$
declare
  t text;
  c record;
begin
  for c in select * from (values
    ('sessions', 'sessions that day'), ('session_minutes', 'minutes of those sessions'),
    ('activities_completed', 'activities completed in them'), ('correct_responses', 'correct responses in them'),
    ('total_responses', 'responses in them'), ('homework_submitted', 'homework submissions that day'),
    ('homework_graded', 'of them, graded'), ('homework_score_sum', 'sum of the graded scores'),
    ('homework_avg_score', 'mean graded score; null when none was graded'), ('recommendations_made', 'recommendations made that day'),
    ('recommendations_accepted', 'of them, accepted'), ('recommendation_accept_rate', 'accepted / made; null when none was made'),
    ('focus_events', 'focus events that day'), ('avg_focus_score', 'mean focus score; null without events'),
    ('computed_at', 'when the run computed the row')) as v (name, text)
  loop
    execute format('comment on column daily_metrics.%I is %L', c.name, c.text);
  end loop;
  foreach t in array array['weekly_metrics', 'monthly_metrics'] loop
    for c in select * from (values
      ('tenant_id', 'the tenant'), ('days_in_period', 'days in the period'),
      ('days_covered', 'days with a SUCCESS daily rollup'), ('missing_days', 'days without one: the period is incomplete'),
      ('sessions', 'sum of daily sessions'), ('session_minutes', 'sum of daily session minutes'),
      ('activities_completed', 'sum over the days'), ('correct_responses', 'sum over the days'), ('total_responses', 'sum over the days'),
      ('correct_rate', 'correct / total responses; null when nobody answered'),
      ('homework_submitted', 'sum over the days'), ('homework_graded', 'sum over the days'),
      ('homework_avg_score', 'mean graded score over the period'), ('recommendations_made', 'sum over the days'),
      ('recommendations_accepted', 'sum over the days'), ('recommendation_accept_rate', 'accepted / made over the period'),
      ('new_learners', 'learners created in the period'), ('avg_daily_active_learners', 'active_learner_days / days covered'),
      ('avg_daily_sessions', 'sessions / days covered'), ('avg_daily_session_minutes', 'session_minutes / days covered'),
      ('sessions_growth_pct', 'against the previous period, %; null when either is incomplete or the base is 0'),
      ('session_minutes_growth_pct', 'against the previous period, %; null when either is incomplete or the base is 0'),
      ('active_learners_growth_pct', 'growth of the daily average of daily active learners (not of WAU/MAU), %'),
      ('new_learners_growth_pct', 'against the previous period, %; null when either is incomplete or the base is 0'),
      ('homework_growth_pct', 'homework submitted against the previous period, %'),
      ('run_id', 'the run that wrote the row'), ('computed_at', 'when the run computed the row')) as v (name, text)
    loop
      execute format('comment on column %I.%I is %L', t, c.name, c.text);
    end loop;
  end loop;
end
$do$;
comment on column weekly_metrics.week_end is 'Sunday of the week';
comment on column monthly_metrics.month_end is 'last day of the month';

comment on table custom_metric_definitions is 'Custom metric definitions, versioned: redefining a name with a change adds version n+1 (etl metric define).';
comment on table custom_metric_values is 'Custom metric values per definition, day and dimension values.';
comment on table etl_job_runs is 'The ledger: one row per run of a (job, partition); written by the runner only.';
comment on column etl_job_runs.target_date is 'the partition''s first day; null for jobs without one';
comment on table etl_check_results is 'Results of the jobs'' data checks, per run (and etl test).';
comment on table etl_run_locks is 'Lock keys of (job, partition) pairs: the runner''s advisory locks hash them.';
comment on table etl_storage_policies is 'One row per time-partitioned table: time column, partition grain, retention, native or TimescaleDB; the retention job reads it.';
comment on table etl_watermarks is 'Table-sync watermarks: the last value each sync_table_* job copied.';
comment on table latest_prices is 'The latest price of each symbol.';
comment on table price_bars_daily is 'Daily price bars per symbol.';
comment on table price_bars_hourly is 'Hourly price bars per symbol.';

-- down
comment on table latest_prices is null;
comment on table price_bars_daily is null;
comment on table price_bars_hourly is null;
comment on table etl_watermarks is null;
comment on table etl_storage_policies is null;
comment on table etl_run_locks is null;
comment on table etl_check_results is null;
comment on table etl_job_runs is null;
comment on column etl_job_runs.target_date is null;
comment on table custom_metric_values is null;
comment on table custom_metric_definitions is null;
-- dim_tenant.tenant_id stays: sync_dim_tenant writes it
alter table daily_metrics drop column tenant_name;
alter table monthly_metrics drop column monthly_active_learners, drop column monthly_active_learners_growth_pct, drop column tenant_name;
alter table weekly_metrics drop column weekly_active_learners, drop column weekly_active_learners_growth_pct, drop column tenant_name;
alter table fact_learning_progress drop constraint fact_learning_progress_date_key_fkey;
alter table fact_recommendation_events drop constraint fact_recommendation_events_date_key_fkey;
alter table fact_homework_events drop constraint fact_homework_events_date_key_fkey;
alter table fact_focus_events drop constraint fact_focus_events_date_key_fkey;
alter table fact_sessions drop constraint fact_sessions_date_key_fkey;
drop function nightshift_extend_dim_date(date, date);
drop table dim_date;
