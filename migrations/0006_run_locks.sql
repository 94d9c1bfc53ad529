-- One row per (job, partition) that has ever run, keyed by the exact pair, numbered once. A run
-- holds its partition with a transaction-scoped advisory lock on (0x6e73, id), taken inside the
-- run's own transaction: it ends with that transaction on whatever server connection a pooler
-- gave it, and two different pairs can never share a number (no hash).
-- up
create table etl_run_locks (
  id          integer generated always as identity primary key,
  job_name    text not null,
  -- the target date as YYYY-MM-DD, '' for jobs without a partition
  target_key  text not null,
  unique (job_name, target_key)
);

-- down
drop table etl_run_locks;
