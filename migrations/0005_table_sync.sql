-- Incremental table sync (kind 'table-sync'). One watermark per job: the largest value of its
-- incremental column loaded so far, kept as PostgreSQL text of that column's type (value_type),
-- so a timestamptz, a date or a bigint round-trips exactly. The sync writes it in the run's own
-- transaction, together with the loaded rows and the ledger's SUCCESS row.
-- up
create table etl_watermarks (
  job_name    text primary key,
  last_value  text,
  -- format_type of the incremental column: 'timestamp with time zone', 'date', 'bigint', ...
  value_type  text,
  updated_at  timestamptz not null default now(),
  -- rows the run that last moved it loaded
  rows        bigint not null default 0,
  -- 'sync' (a run) or 'set' (etl watermarks set)
  set_by      text not null default 'sync'
);

-- Time-partitioned sync targets and how long they keep data; the daily retention job reads it.
-- Written by the sync whenever it (re)creates partitions, so it always matches the job files.
create table etl_retention_policies (
  table_name      text primary key,
  job_name        text not null,
  time_column     text not null,
  chunk_interval  text not null,
  retention       interval not null,
  -- 'native' (range partitions) or 'timescaledb' (hypertable with a retention policy)
  storage         text not null check (storage in ('native', 'timescaledb')),
  updated_at      timestamptz not null default now()
);

-- down
drop table etl_retention_policies;
drop table etl_watermarks;
