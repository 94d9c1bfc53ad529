-- The reference OLTP schema (SPEC section 6): what `etl demo` creates in the source and the
-- built-in jobs read. Mutable rows carry updated_at; learners are soft-deleted (deleted_at),
-- users and subjects can be hard-deleted. created_at on events is when the app recorded them,
-- which may be after the event itself (late-arriving events).
create table if not exists tenants (
  id          bigint primary key,
  name        text not null,
  plan        text not null,
  is_active   boolean not null default true,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);

create table if not exists learners (
  id           bigint primary key,
  tenant_id    bigint not null references tenants (id),
  first_name   text not null,
  grade_level  integer not null,
  is_active    boolean not null default true,
  created_at   timestamptz not null,
  updated_at   timestamptz not null,
  deleted_at   timestamptz
);
create index if not exists learners_updated_at on learners (updated_at);

create table if not exists users (
  id          bigint primary key,
  tenant_id   bigint not null references tenants (id),
  role        text not null check (role in ('teacher', 'parent')),
  full_name   text not null,
  email       text not null,
  is_active   boolean not null default true,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);

create table if not exists subjects (
  id          bigint primary key,
  code        text not null unique,
  name        text not null,
  updated_at  timestamptz not null
);

create table if not exists skills (
  id          bigint primary key,
  subject_id  bigint not null references subjects (id),
  code        text not null unique,
  name        text not null,
  difficulty  integer not null,
  updated_at  timestamptz not null
);

create table if not exists sessions (
  id                    bigint primary key,
  tenant_id             bigint not null,
  learner_id            bigint not null,
  subject_id            bigint not null,
  started_at            timestamptz not null,
  ended_at              timestamptz not null,
  duration_seconds      integer not null,
  activities_completed  integer not null,
  correct_responses     integer not null,
  total_responses       integer not null,
  created_at            timestamptz not null,
  updated_at            timestamptz not null
);
create index if not exists sessions_started_at on sessions (started_at);
create index if not exists sessions_created_at on sessions (created_at);

create table if not exists focus_events (
  id           bigint primary key,
  session_id   bigint not null,
  tenant_id    bigint not null,
  learner_id   bigint not null,
  event_type   text not null check (event_type in ('focus', 'blur', 'idle', 'resume')),
  focus_score  numeric(5, 2) not null,
  occurred_at  timestamptz not null,
  created_at   timestamptz not null
);
create index if not exists focus_events_occurred_at on focus_events (occurred_at);
create index if not exists focus_events_created_at on focus_events (created_at);

create table if not exists homework_submissions (
  id            bigint primary key,
  tenant_id     bigint not null,
  learner_id    bigint not null,
  subject_id    bigint not null,
  assigned_at   timestamptz not null,
  submitted_at  timestamptz not null,
  score         numeric(5, 2),
  status        text not null check (status in ('submitted', 'graded', 'late')),
  created_at    timestamptz not null,
  updated_at    timestamptz not null
);
create index if not exists homework_submitted_at on homework_submissions (submitted_at);

create table if not exists skill_mastery (
  tenant_id      bigint not null,
  learner_id     bigint not null,
  skill_id       bigint not null,
  mastery_level  numeric(5, 4) not null,
  attempts       integer not null,
  updated_at     timestamptz not null,
  primary key (learner_id, skill_id)
);
create index if not exists skill_mastery_updated_at on skill_mastery (updated_at);

create table if not exists recommendations (
  id              bigint primary key,
  tenant_id       bigint not null,
  learner_id      bigint not null,
  skill_id        bigint not null,
  recommended_at  timestamptz not null,
  accepted        boolean,
  accepted_at     timestamptz,
  created_at      timestamptz not null,
  updated_at      timestamptz not null
);
create index if not exists recommendations_recommended_at on recommendations (recommended_at);

create table if not exists assets (
  symbol        text primary key,
  asset_class   text not null check (asset_class in ('stock', 'etf', 'index', 'crypto')),
  provider      text not null check (provider in ('polygon', 'coingecko')),
  coingecko_id  text,
  active        boolean not null default true
);
