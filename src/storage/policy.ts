import { sql, type Kysely } from 'kysely'
import { EtlError } from '../errors.js'
import type { StorageMode } from './backend.js'
import { GRAIN } from './grain.js'

/**
 * One row of etl_storage_policies (migration 0009): how a time-partitioned table is partitioned
 * and how long it keeps its rows. Kept by the jobs that own the tables (a sync from its
 * timePartition, a prices load from its `retention`, the tenant series, the migration for the
 * facts); read by the `retention` job and by `etl storage`.
 */
export interface StoragePolicy {
  readonly table: string
  readonly timeColumn: string
  /** The partition or chunk size: `7 days`, `1 month`, `1 year`. */
  readonly grain: string
  /** Partitions wholly older than now − retention go; null keeps them all. */
  readonly retention: string | null
  readonly mode: StorageMode
  readonly jobName: string | null
}

/** `forever` (or `none`) as a retention: keep every partition. */
const FOREVER = /^(forever|none)$/

/**
 * A retention as `etl storage set-retention` takes it: an interval of days, weeks, months or years,
 * or `forever`; anything else is BAD_INPUT (exit 2), one line.
 *
 * @example parseRetention('2 years') // '2 years'
 */
export function parseRetention(text: string, what = 'retention'): string | null {
  const value = text.trim().toLowerCase()
  if (FOREVER.test(value)) return null
  if (!GRAIN.test(value)) {
    throw new EtlError('BAD_INPUT', `${what} '${text}' is not an interval such as '90 days', '6 months' or '2 years' (or 'forever')`)
  }
  return value
}

interface Row {
  table_name: string
  time_column: string
  grain: string
  retention: string | null
  mode: StorageMode
  job_name: string | null
}

const toPolicy = (r: Row): StoragePolicy => ({ table: r.table_name, timeColumn: r.time_column, grain: r.grain, retention: r.retention, mode: r.mode, jobName: r.job_name })

/** Every policy whose table exists, by table name. */
export async function readPolicies(db: Kysely<any>): Promise<StoragePolicy[]> {
  const { rows } = await sql<Row>`
    select table_name, time_column, grain, retention::text as retention, mode, job_name from etl_storage_policies
    where to_regclass(table_name) is not null order by table_name`.execute(db)
  return rows.map(toPolicy)
}

export async function policyOf(db: Kysely<any>, table: string): Promise<StoragePolicy | undefined> {
  const { rows } = await sql<Row>`
    select table_name, time_column, grain, retention::text as retention, mode, job_name from etl_storage_policies
    where table_name = ${table}`.execute(db)
  return rows[0] && toPolicy(rows[0])
}

/**
 * Records a table's policy as its job file says. The row is written only when it changes: an
 * hourly job would otherwise lock (and write) it every hour. `retention: undefined` keeps the
 * row's retention (a job that does not say one).
 */
export async function registerPolicy(
  db: Kysely<any>,
  policy: Omit<StoragePolicy, 'retention'> & { retention: string | null | undefined },
  now: Date,
): Promise<void> {
  const keep = policy.retention === undefined
  await sql`
    insert into etl_storage_policies as p (table_name, time_column, grain, retention, mode, job_name, updated_at)
    values (${policy.table}, ${policy.timeColumn}, ${policy.grain}, ${policy.retention ?? null}::interval, ${policy.mode}, ${policy.jobName}, ${now})
    on conflict (table_name) do update
    set time_column = excluded.time_column, grain = excluded.grain,
        retention = case when ${keep} then p.retention else excluded.retention end,
        mode = excluded.mode, job_name = excluded.job_name, updated_at = excluded.updated_at
    where (p.time_column, p.grain, p.mode, p.job_name) is distinct from (excluded.time_column, excluded.grain, excluded.mode, excluded.job_name)
       or (not ${keep} and p.retention is distinct from excluded.retention)`.execute(db)
}

/** `etl storage set-retention`: changes one table's retention; an unknown table is BAD_INPUT. */
export async function setRetention(db: Kysely<any>, table: string, retention: string | null, now: Date): Promise<StoragePolicy> {
  const { rows } = await sql<Row>`
    update etl_storage_policies set retention = ${retention}::interval, updated_at = ${now} where table_name = ${table}
    returning table_name, time_column, grain, retention::text as retention, mode, job_name`.execute(db)
  if (!rows[0]) {
    const known = (await readPolicies(db)).map((p) => p.table)
    throw new EtlError('BAD_INPUT', `no storage policy for '${table}'; 'etl storage' lists them${known.length ? ` (${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`)
  }
  return toPolicy(rows[0])
}

/** A job's `retention` for a table it writes (the price loads): recorded only when it changes. */
export async function recordRetention(db: Kysely<any>, table: string, retention: string, now: Date): Promise<void> {
  await sql`
    update etl_storage_policies set retention = ${retention}::interval, updated_at = ${now}
    where table_name = ${table} and retention is distinct from ${retention}::interval`.execute(db)
}
