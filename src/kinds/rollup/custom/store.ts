import { sql, type Kysely } from 'kysely'
import type { DataSource, MetricDefinition } from './definition.js'
import { canonical } from './definition.js'
import type { SourceColumns } from './compile.js'

/** Who defined a metric through the metrics API; every field null for an operator's `etl metric define`. */
export interface MetricOwner {
  owner_user: string | null
  owner_team: string | null
  owner_organization: string | null
}

export interface StoredDefinition extends MetricOwner {
  name: string
  version: number
  definition: MetricDefinition
  is_active: boolean
  created_at: Date
}

const NO_OWNER: MetricOwner = { owner_user: null, owner_team: null, owner_organization: null }

/** A source's real columns from the catalog (the warehouse schema first on the search path). */
export async function sourceColumns(db: Kysely<any>, source: DataSource): Promise<SourceColumns> {
  // a relation of the warehouse schema, or nothing: to_regclass of a bare name follows the search path
  const { rows } = await sql<{ name: string; type: string }>`
    select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
    where attrelid = to_regclass(${source}) and attnum > 0 and not attisdropped order by attnum`.execute(db)
  return new Map(rows.map((r) => [r.name, r.type]))
}

/**
 * Stores a definition: version 1 for a new name, version n+1 when it differs from the latest,
 * nothing when it is the same. Older versions stay.
 */
export async function defineMetric(db: Kysely<any>, def: MetricDefinition, owner: MetricOwner = NO_OWNER): Promise<{ version: number; created: boolean }> {
  const latest = await latestDefinition(db, def.name)
  if (latest && canonical(latest.definition) === canonical(def)) return { version: latest.version, created: false }
  const version = (latest?.version ?? 0) + 1
  await sql`insert into custom_metric_definitions (name, version, description, metric_type, data_source, definition, visibility, is_active,
                                                   owner_user, owner_team, owner_organization)
    values (${def.name}, ${version}, ${def.description ?? null}, ${def.metricType}, ${def.dataSource}, ${canonical(def)}::jsonb,
            ${def.visibility}, ${def.isActive}, ${owner.owner_user}, ${owner.owner_team}, ${owner.owner_organization})`.execute(db)
  return { version, created: true }
}

export async function latestDefinition(db: Kysely<any>, name: string): Promise<StoredDefinition | undefined> {
  const { rows } = await sql<StoredDefinition>`
    select name, version, definition, is_active, created_at, owner_user, owner_team, owner_organization from custom_metric_definitions
    where name = ${name} order by version desc limit 1`.execute(db)
  return rows[0]
}

/** The latest version of every name. */
export async function listDefinitions(db: Kysely<any>): Promise<StoredDefinition[]> {
  const { rows } = await sql<StoredDefinition>`
    select distinct on (name) name, version, definition, is_active, created_at, owner_user, owner_team, owner_organization from custom_metric_definitions
    order by name, version desc`.execute(db)
  return rows
}
