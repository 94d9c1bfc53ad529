import { sql } from 'kysely'
import type { JobContext } from '../../engine/job.js'

// The rollups' view of dim_tenant (issue #22): which tenants get zero rows, and their names then.
// dim_tenant is made by its first sync from the source's columns, so the SQL is built from the
// columns it has; before that sync there are no zero rows and no names.

/**
 * The tenants that get a row every day, zeros where they had no activity (docs/metrics.md):
 * an *active tenant* on a day is one whose current dim_tenant version is not deleted (a tenant
 * gone from the source), is_active, and was created before the day's end, so a backfill gives no
 * zeros for days before a tenant existed. Without dim_tenant (never synced), only tenants with
 * facts that day have rows.
 */
export function activeTenantsSql(columns: ReadonlySet<string>, end: string): string {
  if (!columns.has('tenant_id')) return 'select null::bigint as tenant_id where false'
  const active = columns.has('is_active') ? ' and d.is_active' : ''
  const created = columns.has('created_at') ? ` and d.created_at < ${end}` : ''
  return `select d.tenant_id from dim_tenant d where d.is_current and not d.is_deleted${active}${created}`
}

/**
 * The tenant's name as of a period (day, week, month): the dim_tenant version valid at its last
 * instant (the latest that started before `end`), else the earliest (a tenant first synced later).
 */
export function tenantNamesSql(columns: ReadonlySet<string>, end: string): string {
  if (!columns.has('tenant_id') || !columns.has('name')) return `select null::bigint as tenant_id, null::text as name where ${end} is null and false` // names the parameter, so it has a type
  return `select distinct on (d.tenant_id) d.tenant_id, d.name::text as name from dim_tenant d
      order by d.tenant_id, (d.effective_from < ${end}) desc, case when d.effective_from < ${end} then d.effective_from end desc, d.effective_from`
}

/** dim_tenant's columns (none when it does not exist yet), so the rollup works before the first sync. */
export async function tenantColumns(db: JobContext['db']): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`
    select attname as name from pg_attribute where attrelid = to_regclass('dim_tenant') and attnum > 0 and not attisdropped`.execute(db)
  return new Set(rows.map((r) => r.name))
}
