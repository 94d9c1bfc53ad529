import { z } from 'zod'
import { IDENTIFIER, QUALIFIED } from '../../io/identifiers.js'
// a chunk or a retention is a storage grain: the one rule of src/storage/grain.ts
import { GRAIN } from '../../storage/grain.js'

const column = z.string().regex(IDENTIFIER, 'must be a lower-case column name')

/** `7 days`, `1 week`, `3 months`, `2 years`: what chunk and retention intervals may say. */

/** A BigQuery table: `project.dataset.table` or `dataset.table` (project from BIGQUERY_PROJECT_ID). */
export const BIGQUERY_TABLE = /^([a-z][a-z0-9-]{4,28}[a-z0-9]\.)?[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_$-]{1,1024}$/

const interval = (example: string) => z.string().trim().regex(GRAIN, `must be an interval such as '${example}' (days, weeks, months or years)`)

export const TableSyncSchema = z
  .looseObject({
    source: z.union([
      z.strictObject({ table: z.string().min(1), connection: z.enum(['oltp', 'bigquery']).optional() }),
      z.strictObject({
        query: z.string().min(1).refine((q) => !q.includes(';'), 'must be one SELECT without ;'),
        connection: z.enum(['oltp', 'bigquery']).optional(),
      }),
    ]),
    target: z.string().regex(IDENTIFIER, "must be a table name such as 'dashboard_data'"),
    primaryKey: z.array(column).min(1),
    incrementalColumn: column,
    /** Rows whose incremental value is up to this many days before the watermark are read again (late or corrected rows). */
    lookbackDays: z.number().int().min(0).max(3660).optional(),
    timePartition: z
      .strictObject({ column, chunk: interval('7 days'), retention: interval('2 years') })
      .optional(),
  })
  .superRefine((def, ctx) => {
    const connection = def.source.connection ?? 'oltp'
    if ('table' in def.source) {
      const ok = connection === 'oltp' ? QUALIFIED.test(def.source.table) : BIGQUERY_TABLE.test(def.source.table)
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          path: ['source', 'table'],
          message: connection === 'oltp' ? "must be a table name such as 'public.orders'" : "must be a BigQuery table such as 'my-project.sales.orders'",
        })
      }
    }
    if (def.timePartition && !def.primaryKey.includes(def.timePartition.column)) {
      ctx.addIssue({
        code: 'custom',
        path: ['timePartition', 'column'],
        message: `must be one of the primaryKey columns (${def.primaryKey.join(', ')}): a partitioned table's key holds its partition column`,
      })
    }
  })

export type TableSyncDefinition = z.infer<typeof TableSyncSchema>

export function connectionOf(def: TableSyncDefinition): 'oltp' | 'bigquery' {
  return def.source.connection ?? 'oltp'
}
