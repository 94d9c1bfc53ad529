-- Fact keys that hold tenant_id (issue #23). Citus distributes a table by a column only when
-- every unique key holds that column, and the warehouse distributes its facts by tenant_id
-- (docs/citus.md); plain PostgreSQL keeps the same keys so both engines hold the same rows.
-- date_key stays first: a partitioned table's keys must hold its partition column, and a
-- day's rebuild deletes by it. The primary key of a partitioned parent is dropped and re-added
-- there, which PostgreSQL cascades to every daily partition (one index build per partition).
-- up
alter table fact_sessions drop constraint fact_sessions_pkey;
alter table fact_sessions add primary key (date_key, tenant_id, session_id);
alter table fact_focus_events drop constraint fact_focus_events_pkey;
alter table fact_focus_events add primary key (date_key, tenant_id, event_id);
alter table fact_homework_events drop constraint fact_homework_events_pkey;
alter table fact_homework_events add primary key (date_key, tenant_id, submission_id);
alter table fact_recommendation_events drop constraint fact_recommendation_events_pkey;
alter table fact_recommendation_events add primary key (date_key, tenant_id, recommendation_id);
alter table fact_learning_progress drop constraint fact_learning_progress_pkey;
alter table fact_learning_progress add primary key (date_key, tenant_id, learner_id, skill_id);

-- down
-- fails, as it should, when one id now occurs under two tenants on one day
alter table fact_learning_progress drop constraint fact_learning_progress_pkey;
alter table fact_learning_progress add primary key (date_key, learner_id, skill_id);
alter table fact_recommendation_events drop constraint fact_recommendation_events_pkey;
alter table fact_recommendation_events add primary key (date_key, recommendation_id);
alter table fact_homework_events drop constraint fact_homework_events_pkey;
alter table fact_homework_events add primary key (date_key, submission_id);
alter table fact_focus_events drop constraint fact_focus_events_pkey;
alter table fact_focus_events add primary key (date_key, event_id);
alter table fact_sessions drop constraint fact_sessions_pkey;
alter table fact_sessions add primary key (date_key, session_id);
