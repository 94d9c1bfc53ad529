import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { EtlError, pgErrorCode } from '../../errors.js'
import { stagingSchema } from '../../io/identifiers.js'
import { castType, listWatermarks as selectWatermarks, readWatermark, writeWatermark, type Watermark } from './watermark.js'
import { dropWindow, windowTable } from './window.js'

/** Every watermark, for `etl watermarks`. */
export function listWatermarks(warehouse: Database): Promise<Watermark[]> {
  return selectWatermarks(warehouse.db)
}

/**
 * `etl watermarks set NAME VALUE`: moves one job's watermark by hand (to re-read a period, or to
 * skip history). The value must be one of the incremental column's type — the watermark's own
 * type, else the target column's, else a date, timestamp or whole number by its look — or it is
 * BAD_INPUT (exit 2) and nothing changes. It also drops the job's window (src/kinds/table-sync/window.ts):
 * whoever re-reads a period by hand may have changed the target, so the next run compares every
 * row it reads with the target.
 */
export async function setWatermark(
  warehouse: Database,
  options: { jobName: string; target: string; incrementalColumn: string; value: string; now: Date; warehouseSchema: string },
): Promise<{ value: string; type: string; previous: string | null }> {
  return warehouse.db.transaction().execute(async (trx) => {
    await sql`set local timezone to 'UTC'`.execute(trx)
    const current = await readWatermark(trx, options.jobName)
    const type = current?.value_type ?? (await columnType(trx, options.target, options.incrementalColumn)) ?? typeByLook(options.value)
    if (!type) {
      throw new EtlError(
        'BAD_INPUT',
        `watermark value '${options.value}' is not a date (2025-01-15), a timestamp (2025-01-15T00:00:00Z) or a whole number`,
      )
    }
    let value: string
    try {
      await sql`savepoint watermark_value`.execute(trx)
      const { rows } = await sql<{ v: string }>`select (${options.value}::text)::${sql.raw(castType(type))}::text as v`.execute(trx)
      value = rows[0]!.v
    } catch (error) {
      const code = pgErrorCode(error)
      if (code?.startsWith('22')) {
        throw new EtlError('BAD_INPUT', `watermark value '${options.value}' is not a ${type}, the type of ${options.incrementalColumn}`, { cause: error })
      }
      throw error
    }
    await writeWatermark(trx, { jobName: options.jobName, value, type, rows: 0, at: options.now, setBy: 'set' })
    await dropWindow(trx, windowTable(stagingSchema(options.warehouseSchema), options.jobName))
    return { value, type, previous: current?.last_value ?? null }
  })
}

async function columnType(db: Kysely<any>, table: string, column: string): Promise<string | undefined> {
  const { rows } = await sql<{ type: string }>`
    select format_type(atttypid, atttypmod) as type from pg_attribute
    where attrelid = to_regclass(${table}) and attname = ${column} and not attisdropped`.execute(db)
  return rows[0]?.type
}

function typeByLook(value: string): string | undefined {
  if (/^-?\d+$/.test(value)) return 'bigint'
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'date'
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) return 'timestamp with time zone'
  return undefined
}
