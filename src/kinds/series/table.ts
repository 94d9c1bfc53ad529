import { sql, type Kysely } from 'kysely'
import { distributeNewTable } from '../../storage/citus/apply.js'
import { hasTimescale } from '../../storage/partitions.js'
import { registerPolicy } from '../../storage/policy.js'
import type { IsoDate } from '../../time/calendar.js'

/** The schema of a tenant's series: `analytics_company_` and the id's digits, nothing else. */
export function tenantSchema(tenantId: number): string {
  if (!Number.isSafeInteger(tenantId) || tenantId <= 0) throw new Error(`tenant id ${tenantId} is not a positive integer`)
  return `analytics_company_${tenantId}`
}

/** `analytics_company_{id}.metrics_time_series`, quoted-safe (the schema is digits and letters only). */
export const tenantSeriesTable = (tenantId: number) => `${tenantSchema(tenantId)}.metrics_time_series`

/** How long a tenant's chart rows are kept, and the partition (or chunk) size. */
const SERIES_POLICY = { grain: '1 year', retention: '2 years' } as const

export interface EnsureOptions {
  /** The days the caller is about to write: their years' partitions are made. */
  readonly days: { readonly from: IsoDate; readonly to: IsoDate }
  readonly now: Date
  /** The job recorded in the table's storage policy. */
  readonly jobName: string
}

export interface EnsuredTable {
  /** The table was made by this call (in the caller's transaction). */
  readonly created: boolean
}

/**
 * The one place a tenant's series table is made: the schema, the table (partitioned by year on
 * `ts`, or a TimescaleDB hypertable), the yearly partitions that `[from, to]` needs, its storage
 * policy, and the view across tenants (`metrics_time_series_all`) when it does not show the
 * tenant yet. Idempotent and cheap when everything exists (one catalog query).
 *
 * Runs in the caller's transaction: a tenant whose rows fail leaves no table behind.
 *
 * @example await ensureTenantSeriesTable(trx, 42, { days: { from: '2025-01-01', to: '2025-03-31' }, now, jobName: 'populate_tenant_time_series' })
 */
export async function ensureTenantSeriesTable(db: Kysely<any>, tenantId: number, options: EnsureOptions): Promise<EnsuredTable> {
  const { days, now } = options
  const schema = tenantSchema(tenantId)
  const table = tenantSeriesTable(tenantId)
  const state = async () =>
    (
      await sql<{ present: boolean; current: boolean; in_view: boolean; partitioned: boolean }>`
        select to_regclass(${table}) is not null as present,
               exists (select 1 from pg_attribute where attrelid = to_regclass(${table}) and attname = 'is_complete' and not attisdropped) as current,
               coalesce((select relkind = 'p' from pg_class where oid = to_regclass(${table})), false) as partitioned,
               exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
                       where r.ev_class = to_regclass('metrics_time_series_all') and d.refobjid = to_regclass(${table})) as in_view`.execute(db)
    ).rows[0]!
  let st = await state()
  let created = false
  if (!st.present) {
    // two runs making the same tenant's table: the second waits here, then finds it
    await sql`select pg_advisory_xact_lock(hashtext(${`nightshift series table ${schema}`}))`.execute(db)
    st = await state()
    if (!st.present) {
      const timescale = await hasTimescale(db)
      await sql`create schema if not exists ${sql.id(schema)}`.execute(db)
      await sql`
        create table ${sql.table(table)} (
          ts            date not null,
          series        text not null,
          value         numeric not null,
          running_sum   numeric not null,
          granularity   text not null,
          period_type   text not null,
          window_start  date not null,
          is_complete   boolean not null default false,
          updated_at    timestamptz not null default now(),
          constraint metrics_time_series_key unique (period_type, window_start, ts, series, granularity)
        ) ${sql.raw(timescale ? '' : 'partition by range (ts)')}`.execute(db)
      if (timescale) {
        await sql`select create_hypertable(${table}::regclass, 'ts', chunk_time_interval => interval '1 year')`.execute(db)
      }
      // Citus (issue #23): the table's treatment from the plan (schema-based sharding of the
      // tenant's schema) right after it is made; off Citus one cached catalog read. This is the
      // only place a tenant series table is created, so nothing else needs to know about Citus.
      await distributeNewTable(db, table, 'tenant series')
      await registerPolicy(
        db,
        { table, timeColumn: 'ts', grain: SERIES_POLICY.grain, retention: SERIES_POLICY.retention, mode: timescale ? 'timescaledb' : 'native', jobName: options.jobName },
        now,
      )
      created = true
      st = { present: true, current: true, partitioned: !timescale, in_view: false }
    }
  }
  if (!st.current) {
    // a table of an earlier release (made before migration 0012, or a plain one): migration
    // 0009's conversion to a partitioned table or hypertable, keeping its rows, then the new column
    await sql`select nightshift_series_storage(${schema}, ${days.from}::date, ${days.to}::date)`.execute(db)
    await sql`alter table ${sql.table(table)} add column if not exists is_complete boolean not null default false`.execute(db)
    st = await state()
  }
  if (st.partitioned) {
    // the window's years and the next one, by the one partition rule (migration 0009)
    const first = `${days.from.slice(0, 4)}-01-01`
    const next = `${Number(days.to.slice(0, 4)) + 1}-01-01`
    await sql`select count(*) from nightshift_ensure_partitions(${table}::regclass, ${SERIES_POLICY.grain},
      array(select generate_series(${first}::date, ${next}::date, interval '1 year')::date))`.execute(db)
  }
  if (!st.in_view) await refreshSeriesView(db)
  return { created }
}

/** Rebuilds `metrics_time_series_all` from the catalog (migration 0012); returns the tenants it shows. */
export async function refreshSeriesView(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select nightshift_series_view() as n`.execute(db)
  return Number(rows[0]?.n ?? 0)
}
