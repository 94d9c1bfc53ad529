-- Hourly stock bars come with extended hours (04:00–20:00 New York, Polygon's aggregates): the
-- session of each bar ('pre', 'regular', 'post') lets a chart keep the regular session only.
-- Null for crypto, which has no sessions, and for bars loaded before this column existed. No
-- check constraint: monthly partitions made by nightshift_ensure_month_partitions are attached
-- later, and PostgreSQL refuses to attach one that lacks it.
-- up
alter table price_bars_hourly add column session text;

-- down
alter table price_bars_hourly drop column session;
