-- The results of the data checks a job declares (docs/checks.md): one row per check of a run.
-- A run's rows are written in its transaction when it commits, after its rollback when an
-- error-level check stopped it. No foreign key to the ledger: ledger retention deletes old runs.
-- up
create table etl_check_results (
  id            bigint generated always as identity primary key,
  run_id        uuid not null,
  job_name      text not null,
  target_date   date,
  check_name    text not null,
  check_type    text not null,
  severity      text not null check (severity in ('error', 'warn')),
  status        text not null check (status in ('pass', 'warn', 'fail', 'error')),
  failing_rows  bigint not null default 0,
  -- up to five keys (or values) of failing rows
  sample        jsonb not null default '[]'::jsonb,
  message       text,
  duration_ms   integer not null,
  mode          text not null default 'run',
  checked_at    timestamptz not null default now()
);

-- "the newest result of each check" for `etl check`, `etl status --checks` and /metrics
create index etl_check_results_latest on etl_check_results (job_name, target_date, check_name, checked_at desc);
create index etl_check_results_run on etl_check_results (run_id);

-- down
drop table etl_check_results;
