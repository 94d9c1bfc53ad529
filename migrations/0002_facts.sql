-- Fact tables (SPEC section 6). Each is range-partitioned by date_key (YYYYMMDD in ETL_TIMEZONE),
-- one partition per day, created by the fact build on demand, so rebuilding a day touches only
-- its own partition whatever the history. Keys *_key point at the dimension version valid at the
-- event's time; the natural ids stay beside them for rollups and debugging. A partitioned
-- table's unique keys must hold date_key, so "session_id is unique" is (date_key, session_id):
-- an event's day never changes.
-- up
create table fact_sessions (
  session_id            bigint not null,
  date_key              integer not null,
  tenant_id             bigint not null,
  learner_id            bigint not null,
  tenant_key            bigint,
  learner_key           bigint,
  subject_key           bigint,
  duration_seconds      integer not null,
  activities_completed  integer not null,
  correct_responses     integer not null,
  total_responses       integer not null,
  started_at            timestamptz not null,
  ended_at              timestamptz not null,
  recorded_at           timestamptz not null,
  primary key (date_key, session_id)
) partition by range (date_key);

create table fact_focus_events (
  event_id     bigint not null,
  date_key     integer not null,
  session_id   bigint not null,
  tenant_id    bigint not null,
  learner_id   bigint not null,
  tenant_key   bigint,
  learner_key  bigint,
  event_type   text not null,
  focus_score  numeric(5, 2) not null,
  occurred_at  timestamptz not null,
  recorded_at  timestamptz not null,
  primary key (date_key, event_id)
) partition by range (date_key);

create table fact_homework_events (
  submission_id  bigint not null,
  date_key       integer not null,
  tenant_id      bigint not null,
  learner_id     bigint not null,
  tenant_key     bigint,
  learner_key    bigint,
  subject_key    bigint,
  status         text not null,
  score          numeric(5, 2),
  is_late        boolean not null,
  assigned_at    timestamptz not null,
  submitted_at   timestamptz not null,
  recorded_at    timestamptz not null,
  primary key (date_key, submission_id)
) partition by range (date_key);

create table fact_recommendation_events (
  recommendation_id  bigint not null,
  date_key           integer not null,
  tenant_id          bigint not null,
  learner_id         bigint not null,
  tenant_key         bigint,
  learner_key        bigint,
  skill_key          bigint,
  accepted           boolean,
  hours_to_accept    numeric(10, 2),
  recommended_at     timestamptz not null,
  accepted_at        timestamptz,
  primary key (date_key, recommendation_id)
) partition by range (date_key);

-- a daily snapshot: each learner's mastery of each skill as of the end of the day
create table fact_learning_progress (
  date_key            integer not null,
  tenant_id           bigint not null,
  learner_id          bigint not null,
  skill_id            bigint not null,
  tenant_key          bigint,
  learner_key         bigint,
  skill_key           bigint,
  mastery_level       numeric(5, 4) not null,
  attempts            integer not null,
  mastery_updated_at  timestamptz not null,
  primary key (date_key, learner_id, skill_id)
) partition by range (date_key);

-- down
drop table fact_learning_progress;
drop table fact_recommendation_events;
drop table fact_homework_events;
drop table fact_focus_events;
drop table fact_sessions;
