-- Market prices (SPEC section 6): daily and hourly bars, the latest price per symbol.
-- Bar tables are TimescaleDB hypertables where the extension is already installed in this
-- database, and natively range-partitioned by month otherwise: monthly partitions are created by
-- the load (nightshift_ensure_month_partitions) and a default partition catches anything else.
-- nightshift_drop_old_partitions is the retention job of both.
-- up
do $$
declare
  daily_columns text := $c$
    symbol      text not null,
    date        date not null,
    open        numeric not null,
    high        numeric not null,
    low         numeric not null,
    close       numeric not null,
    volume      numeric,
    vwap        numeric,
    trades      bigint,
    source      text not null,
    updated_at  timestamptz not null default now(),
    primary key (symbol, date)$c$;
  hourly_columns text := $c$
    symbol      text not null,
    ts          timestamptz not null,
    date        date not null,
    open        numeric not null,
    high        numeric not null,
    low         numeric not null,
    close       numeric not null,
    volume      numeric,
    vwap        numeric,
    trades      bigint,
    source      text not null,
    updated_at  timestamptz not null default now(),
    primary key (symbol, ts)$c$;
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb') then
    execute format('create table price_bars_daily (%s)', daily_columns);
    execute format('create table price_bars_hourly (%s)', hourly_columns);
    execute $t$select create_hypertable('price_bars_daily', 'date', chunk_time_interval => interval '1 year')$t$;
    execute $t$select create_hypertable('price_bars_hourly', 'ts', chunk_time_interval => interval '1 month')$t$;
    execute $t$select add_retention_policy('price_bars_hourly', interval '2 years')$t$;
  else
    execute format('create table price_bars_daily (%s) partition by range (date)', daily_columns);
    execute format('create table price_bars_hourly (%s) partition by range (ts)', hourly_columns);
    create table price_bars_daily_default partition of price_bars_daily default;
    create table price_bars_hourly_default partition of price_bars_hourly default;
  end if;
end
$$;

-- "the last day of a symbol" and the hourly 1D read
create index price_bars_hourly_symbol_date on price_bars_hourly (symbol, date);

create table latest_prices (
  symbol          text primary key,
  price           numeric not null,
  change_percent  numeric,
  volume          numeric,
  as_of           timestamptz not null,
  source          text not null,
  updated_at      timestamptz not null default now()
);

-- Creates the missing monthly partitions of a natively partitioned table for [first_day, last_day].
-- Rows of those months already in the default partition move into the new partition. A
-- hypertable or a plain table is left alone. Safe when two loads race: the second waits.
create function nightshift_ensure_month_partitions(parent regclass, first_day date, last_day date)
returns integer language plpgsql as $$
declare
  nsp text;
  rel text;
  key_column text;
  key_type text;
  default_part text;
  month date := date_trunc('month', first_day)::date;
  part text;
  lo text;
  hi text;
  made integer := 0;
begin
  select n.nspname, c.relname into nsp, rel
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.oid = parent and c.relkind = 'p';
  if rel is null then
    return 0;
  end if;
  select a.attname, format_type(a.atttypid, a.atttypmod) into key_column, key_type
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  select format('%I.%I', dn.nspname, d.relname) into default_part
  from pg_partitioned_table pt join pg_class d on d.oid = pt.partdefid join pg_namespace dn on dn.oid = d.relnamespace
  where pt.partrelid = parent;
  while month <= last_day loop
    part := format('%s_%s', rel, to_char(month, 'YYYYMM'));
    if to_regclass(format('%I.%I', nsp, part)) is null then
      perform pg_advisory_xact_lock(hashtext(format('nightshift partition %s.%s', nsp, part)));
      if to_regclass(format('%I.%I', nsp, part)) is null then
        -- months in UTC for timestamptz keys: the bounds do not depend on the session's zone
        if key_type = 'date' then
          lo := month::text;
          hi := (month + interval '1 month')::date::text;
        else
          lo := month::text || ' 00:00:00+00';
          hi := (month + interval '1 month')::date::text || ' 00:00:00+00';
        end if;
        execute format('create table %I.%I (like %I.%I including defaults)', nsp, part, nsp, rel);
        if default_part is not null then
          execute format(
            'with moved as (delete from %s where %I >= %L::%s and %I < %L::%s returning *) insert into %I.%I select * from moved',
            default_part, key_column, lo, key_type, key_column, hi, key_type, nsp, part);
        end if;
        execute format('alter table %I.%I attach partition %I.%I for values from (%L) to (%L)', nsp, rel, nsp, part, lo, hi);
        made := made + 1;
      end if;
    end if;
    month := (month + interval '1 month')::date;
  end loop;
  return made;
end
$$;

-- Retention: drops the partitions (or TimescaleDB chunks) wholly older than now() - keep, and
-- deletes such rows from the default partition. Returns the partitions dropped.
create function nightshift_drop_old_partitions(parent regclass, keep interval, at timestamptz default now())
returns integer language plpgsql as $$
declare
  cutoff timestamptz := at - keep;
  child record;
  upper_bound text;
  key_column text;
  dropped integer := 0;
begin
  if exists (select 1 from pg_extension where extname = 'timescaledb')
     and not exists (select 1 from pg_class where oid = parent and relkind = 'p') then
    execute 'select count(*) from drop_chunks($1, older_than => $2)' into dropped using parent, cutoff;
    return dropped;
  end if;
  select a.attname into key_column
  from pg_partitioned_table pt join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
  where pt.partrelid = parent;
  if key_column is null then
    return 0;
  end if;
  for child in
    select c.oid::regclass as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = parent
  loop
    if child.bound = 'DEFAULT' then
      execute format('delete from %s where %I < %L', child.name, key_column, cutoff);
      continue;
    end if;
    upper_bound := (regexp_match(child.bound, 'TO \(''([^'']+)''\)'))[1];
    if upper_bound is not null and upper_bound::timestamptz <= cutoff then
      execute format('drop table %s', child.name);
      dropped := dropped + 1;
    end if;
  end loop;
  return dropped;
end
$$;

-- down
drop function if exists nightshift_drop_old_partitions(regclass, interval, timestamptz);
drop function if exists nightshift_ensure_month_partitions(regclass, date, date);
drop table if exists latest_prices;
drop table if exists price_bars_hourly;
drop table if exists price_bars_daily;
