import { sql, type Kysely } from 'kysely'

/**
 * `etl_watermarks`, one function per statement. The sync reads and writes it through the run's
 * transaction (`ctx.db`), so a watermark never moves past rows that did not commit.
 */
export interface Watermark {
  job_name: string
  /** PostgreSQL text of the incremental column's type; null before the first run. */
  last_value: string | null
  value_type: string | null
  updated_at: Date
  rows: number
  set_by: 'sync' | 'set'
}

export async function readWatermark(db: Kysely<any>, jobName: string): Promise<Watermark | undefined> {
  const { rows } = await sql<Watermark>`select * from etl_watermarks where job_name = ${jobName}`.execute(db)
  return rows[0]
}

export async function listWatermarks(db: Kysely<any>): Promise<Watermark[]> {
  const { rows } = await sql<Watermark>`select * from etl_watermarks order by job_name`.execute(db)
  return rows
}

export async function writeWatermark(
  db: Kysely<any>,
  mark: { jobName: string; value: string | null; type: string; rows: number; at: Date; setBy: 'sync' | 'set' },
): Promise<void> {
  await sql`
    insert into etl_watermarks (job_name, last_value, value_type, updated_at, rows, set_by)
    values (${mark.jobName}, ${mark.value}, ${mark.type}, ${mark.at}, ${mark.rows}, ${mark.setBy})
    on conflict (job_name) do update
    set last_value = excluded.last_value, value_type = excluded.value_type, updated_at = excluded.updated_at,
        rows = excluded.rows, set_by = excluded.set_by`.execute(db)
}

/** Types whose values move in time, so `lookbackDays` means something for them. */
export function isTimeType(type: string): boolean {
  return /^(date|timestamp\b)/.test(type)
}

/** format_type output we are willing to splice into SQL as a cast. */
export function castType(type: string): string {
  if (!/^[a-z][a-z0-9 _,()[\]]*$/.test(type)) throw new Error(`unexpected column type ${JSON.stringify(type)}`)
  return type
}

/**
 * The lower bound of the next extraction: `watermark − lookback`, computed by PostgreSQL in the
 * column's own type (the run pins its zone to UTC, so a timestamptz prints with +00).
 */
export async function lowerBound(db: Kysely<any>, value: string, type: string, lookbackDays: number): Promise<string> {
  const t = sql.raw(castType(type))
  const { rows } = isTimeType(type)
    ? await sql<{ bound: string }>`select ((${value}::text)::${t} - make_interval(days => ${lookbackDays}::int))::${t}::text as bound`.execute(db)
    : await sql<{ bound: string }>`select (${value}::text)::${t}::text as bound`.execute(db)
  return rows[0]!.bound
}
