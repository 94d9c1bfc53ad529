-- The run ledger (SPEC section 4). Only the runner writes it.
-- up
create table etl_job_runs (
  id              uuid primary key default gen_random_uuid(),
  -- every row written by one `etl` command shares it: `etl retry --run-id` takes either id
  invocation_id   uuid,
  job_name        text not null,
  run_date        date not null,
  target_date     date,
  status          text not null check (status in ('RUNNING', 'SUCCESS', 'FAILED', 'SKIPPED', 'PARTIAL')),
  rows_processed  bigint not null default 0,
  rows_inserted   bigint not null default 0,
  rows_updated    bigint not null default 0,
  rows_deleted    bigint not null default 0,
  duration_ms     integer,
  error_message   text,
  started_at      timestamptz not null default now(),
  completed_at    timestamptz,
  heartbeat_at    timestamptz,
  attempt         integer not null default 1,
  host            text,
  pid             integer,
  parameters      jsonb not null default '{}'::jsonb,
  failed_units    jsonb
);

-- "is this partition done?" and "what ran last for this job?"
create index etl_job_runs_job_target on etl_job_runs (job_name, target_date, started_at desc);
-- `etl status` and monitoring read newest first
create index etl_job_runs_started on etl_job_runs (started_at desc);
create index etl_job_runs_invocation on etl_job_runs (invocation_id);

-- down
drop table etl_job_runs;
