import { sql, type Kysely } from 'kysely'
import type { RegisteredJob } from '../engine/job.js'
import { KINDS } from '../kinds/index.js'
import { hasTimescale } from '../storage/partitions.js'
import { readPolicies, type StoragePolicy } from '../storage/policy.js'

/**
 * `etl docs`: the warehouse catalog (SPEC §1) as Markdown, from the database's own catalog
 * (tables, columns, types, COMMENT ON, keys, pg_partitioned_table, TimescaleDB's dimensions),
 * the job registry (the kinds' `targets`: which job writes each table) and etl_storage_policies
 * (retention). Deterministic for a given warehouse shape: no dates, row counts or partition
 * lists, so a generated file can be checked in and compared by a test.
 */
export interface CatalogTable {
  readonly name: string
  readonly kind: 'table' | 'partitioned table' | 'view' | 'materialized view' | 'hypertable'
  readonly comment: string | null
  readonly columns: readonly CatalogColumn[]
  readonly writtenBy: readonly string[]
  readonly partitioning: string | null
  readonly retention: string | null
}

export interface CatalogColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
  /** `PK`, and `→ table.column` for a single-column foreign key. */
  readonly key: string
  readonly comment: string | null
}

/** Tenant schemas are many copies of one table: the catalog shows one, under this name. */
const TENANT_SCHEMA = /^analytics_company_[0-9]+$/
const TENANT_PLACEHOLDER = 'analytics_company_{id}'

interface TableRow {
  schema: string
  name: string
  relkind: string
  comment: string | null
  partkey: string | null
}

interface ColumnRow {
  schema: string
  table: string
  name: string
  type: string
  not_null: boolean
  comment: string | null
  pk: boolean
  ref: string | null
}

/** The relations of `schemas`, except partitions (a day's partition is the parent's business). */
async function readTables(db: Kysely<any>, schemas: readonly string[]): Promise<{ tables: TableRow[]; columns: ColumnRow[] }> {
  const { rows: tables } = await sql<TableRow>`
    select n.nspname as schema, c.relname as name, c.relkind::text as relkind, obj_description(c.oid, 'pg_class') as comment,
           case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as partkey
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
    order by n.nspname, c.relname`.execute(db)
  const { rows: columns } = await sql<ColumnRow>`
    select n.nspname as schema, c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
           a.attnotnull as not_null, col_description(c.oid, a.attnum) as comment,
           exists (select 1 from pg_constraint k where k.conrelid = c.oid and k.contype = 'p' and a.attnum = any(k.conkey)) as pk,
           (select min(f.confrelid::regclass::text || '.' || fa.attname)
              from pg_constraint f join pg_attribute fa on fa.attrelid = f.confrelid and fa.attnum = f.confkey[1]
              where f.conrelid = c.oid and f.contype = 'f' and cardinality(f.conkey) = 1 and f.conkey[1] = a.attnum) as ref
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = any(${schemas}::text[]) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
      and a.attnum > 0 and not a.attisdropped
    order by n.nspname, c.relname, a.attnum`.execute(db)
  return { tables, columns }
}

/** TimescaleDB's hypertables of the schemas and their time dimension, when the extension is there. */
async function readHypertables(db: Kysely<any>, schemas: readonly string[]): Promise<Map<string, string>> {
  if (!(await hasTimescale(db))) return new Map()
  const { rows } = await sql<{ schema: string; name: string; column_name: string; chunk: string | null }>`
    select hypertable_schema as schema, hypertable_name as name, column_name, time_interval::text as chunk
    from timescaledb_information.dimensions where hypertable_schema = any(${schemas}::text[]) and dimension_number = 1`.execute(db)
  return new Map(rows.map((r) => [`${r.schema}.${r.name}`, `TimescaleDB hypertable on ${r.column_name}${r.chunk ? `, chunks of ${r.chunk}` : ''}`]))
}

/**
 * Which jobs write each table, from the kinds' targets (qualified names kept as given), and what
 * the columns a kind adds mean, for columns without a comment of their own.
 */
function writers(jobs: readonly RegisteredJob[]): { written: Map<string, string[]>; notes: Map<string, Record<string, string>> } {
  const written = new Map<string, string[]>()
  const notes = new Map<string, Record<string, string>>()
  for (const job of jobs) {
    const kind = KINDS[job.kind]
    for (const target of kind.targets?.(job) ?? []) {
      const list = written.get(target) ?? []
      if (!list.includes(job.name)) list.push(job.name)
      written.set(target, list)
      const extra = kind.columnNotes?.(job)
      if (extra) notes.set(target, { ...notes.get(target), ...extra })
    }
  }
  for (const list of written.values()) list.sort()
  return { written, notes }
}

function kindOf(relkind: string, hypertable: boolean): CatalogTable['kind'] {
  if (hypertable) return 'hypertable'
  return relkind === 'p' ? 'partitioned table' : relkind === 'v' ? 'view' : relkind === 'm' ? 'materialized view' : 'table'
}

function retentionOf(policy: StoragePolicy | undefined): string | null {
  if (!policy) return null
  return policy.retention ? `partitions older than ${policy.retention} are dropped by the retention job` : 'kept for ever'
}

/**
 * Reads the catalog of the warehouse schema and of one tenant schema (shown as
 * `analytics_company_{id}`), with the writers from `jobs`.
 */
export async function readCatalog(db: Kysely<any>, schema: string, jobs: readonly RegisteredJob[]): Promise<CatalogTable[]> {
  const { rows: tenants } = await sql<{ name: string }>`
    select nspname as name from pg_namespace where nspname ~ '^analytics_company_[0-9]+$'
    order by length(nspname), nspname limit 1`.execute(db)
  const schemas = [schema, ...tenants.map((t) => t.name)]
  const { tables, columns } = await readTables(db, schemas)
  const hypertables = await readHypertables(db, schemas)
  const policies = new Map((await readPolicies(db)).map((p) => [p.table, p]))
  const { written, notes } = writers(jobs)
  return tables.map((t) => {
    const qualified = `${t.schema}.${t.name}`
    const display = t.schema === schema ? t.name : `${TENANT_SCHEMA.test(t.schema) ? TENANT_PLACEHOLDER : t.schema}.${t.name}`
    const policy = policies.get(t.schema === schema ? t.name : qualified)
    const hyper = hypertables.get(qualified)
    const partitioning = hyper ?? (t.partkey ? `${t.partkey.toLowerCase()}${policy ? `, partitions of ${policy.grain}` : ''}` : null)
    return {
      name: display,
      kind: kindOf(t.relkind, Boolean(hyper)),
      comment: t.comment,
      columns: columns
        .filter((c) => c.schema === t.schema && c.table === t.name)
        .map((c) => ({
          name: c.name,
          type: c.type,
          nullable: !c.not_null,
          key: [c.pk ? 'PK' : '', c.ref ? `→ ${c.ref}` : ''].filter(Boolean).join(' '),
          comment: c.comment ?? notes.get(display)?.[c.name] ?? null,
        })),
      writtenBy: written.get(display) ?? [],
      partitioning,
      retention: retentionOf(policy),
    }
  })
}

const cell = (text: string | null | undefined) => (text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|')
const anchor = (name: string) => name.toLowerCase().replace(/[^a-z0-9_-]/g, '')

/** The catalog as one Markdown page: an index table, then a section per table. */
export function renderCatalog(tables: readonly CatalogTable[], schema: string): string {
  const lines = [
    '# Warehouse catalog',
    '',
    `Generated by \`etl docs --out FILE\` from the warehouse's catalog (tables, columns, types, comments, keys,`,
    'partitioning), the job registry (which job writes each table) and `etl_storage_policies` (retention).',
    'Do not edit by hand: regenerate it after `etl demo` (docs/dimensions-and-facts.md says how; a test compares).',
    '',
    `Schema \`${schema}\`; one tenant schema stands for all as \`${TENANT_PLACEHOLDER}\`. Partitions are not listed.`,
    '',
    '| table | kind | written by | partitioning | retention |',
    '|---|---|---|---|---|',
    ...tables.map(
      (t) => `| [${cell(t.name)}](#${anchor(t.name)}) | ${t.kind} | ${cell(t.writtenBy.join(', ')) || '—'} | ${cell(t.partitioning) || '—'} | ${cell(t.retention) || '—'} |`,
    ),
  ]
  for (const t of tables) {
    lines.push('', `## ${t.name}`, '')
    if (t.comment) lines.push(t.comment, '')
    lines.push(
      `- kind: ${t.kind}`,
      `- written by: ${t.writtenBy.length ? t.writtenBy.map((j) => `\`${j}\``).join(', ') : '— (see the comment: the engine, a migration or a command)'}`,
      `- partitioning: ${t.partitioning ?? 'none'}`,
      `- retention: ${t.retention ?? '—'}`,
      '',
      '| column | type | null | key | comment |',
      '|---|---|---|---|---|',
      ...t.columns.map((c) => `| ${cell(c.name)} | ${cell(c.type)} | ${c.nullable ? 'yes' : 'no'} | ${cell(c.key)} | ${cell(c.comment)} |`),
    )
  }
  return `${lines.join('\n')}\n`
}
