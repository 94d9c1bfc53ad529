import { CompiledQuery, sql } from 'kysely'
import { z } from 'zod'
import type { JobContext, JobResult, LedgerReader, RegisteredJob } from '../../engine/job.js'
import type { RunEnv } from '../../engine/runner.js'
import { describeTable } from '../../io/describe.js'
import { ident, IDENTIFIER, literal, QUALIFIED, qualified, stagingSchema } from '../../io/identifiers.js'
import { dropStaging, loadStaging } from '../../io/staging.js'
import { ddlRunnerOf, ensurePartitions } from '../../storage/partitions.js'
import { policyOf, registerPolicy } from '../../storage/policy.js'
import { addDays, dateKey, dayBounds, type Bounds, type IsoDate } from '../../time/calendar.js'
import { defineKind } from '../kind.js'
import { extendDimDate } from './dim-date.js'

const column = z.string().regex(IDENTIFIER, 'must be a lower-case column name')

export const FactSchema = z.looseObject({
  source: z.union([
    z.strictObject({
      table: z.string().regex(QUALIFIED, "must be a table name such as 'public.sessions'"),
      /** The event's time: the rows of a day are those with `timeColumn` in its bounds. */
      timeColumn: column,
      /** When the source recorded the row; lets `lookbackDays` find late-arriving events. */
      recordedColumn: column.optional(),
    }),
    z.strictObject({
      table: z.string().regex(QUALIFIED, "must be a table name such as 'public.skill_mastery'"),
      /** A snapshot: the rows of a day are those with `asOfColumn` before its end. */
      asOfColumn: column,
    }),
  ]),
  target: z.string().regex(IDENTIFIER, "must be a table name such as 'fact_sessions'"),
  /**
   * A SELECT producing the target's columns by name, reading the day's source rows from
   * `{{staging}}`. Also available: `{{date_key}}`, `{{from}}`, `{{to}}`.
   */
  select: z.string().min(1).refine((s) => s.includes('{{staging}}'), 'must read the source rows from {{staging}}'),
  lookbackDays: z.number().int().min(0).max(31).optional(),
})

export type FactDefinition = z.infer<typeof FactSchema>

function sourceQuery(def: FactDefinition, columns: string[], bounds: Bounds): string {
  const cols = columns.map(ident).join(', ')
  const where =
    'timeColumn' in def.source
      ? `${ident(def.source.timeColumn)} >= ${literal(bounds.from)} and ${ident(def.source.timeColumn)} < ${literal(bounds.to)}`
      : `${ident(def.source.asOfColumn)} < ${literal(bounds.to)}`
  return `select ${cols} from ${qualified(def.source.table)} where ${where}`
}

function expand(select: string, values: Record<string, string>): string {
  return select.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`unknown placeholder ${whole} in the fact's select`)
    return value
  })
}

/**
 * Rebuilds one day of a fact table: the day's source rows stream into staging, then, inside the
 * run's transaction, `delete … where date_key = D` and `insert … select` from staging joined to
 * the dimension versions valid at each event. Re-running a day yields the same rows.
 */
export async function buildFact(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as FactDefinition
  if (!ctx.target || !ctx.bounds) throw new Error('a fact build needs a day')
  const dk = dateKey(ctx.target)
  const source = await ctx.source()
  const columns = await describeTable(source, def.source.table)
  const staging = `${stagingSchema(ctx.config.warehouseSchema)}.${ctx.job.name}`
  const staged = await loadStaging({
    source,
    query: sourceQuery(def, columns.map((c) => c.name), ctx.bounds),
    columns,
    warehouse: ctx.session,
    table: staging,
  })
  await ensureDayPartition(ctx, def.target, ctx.target)
  await extendDimDate(ctx, ctx.target)
  const targetColumns = await insertableColumns(ctx, def.target)
  const select = expand(def.select, {
    staging: qualified(staging),
    date_key: String(dk),
    from: literal(ctx.bounds.from),
    to: literal(ctx.bounds.to),
  })
  const deleted = await ctx.db.executeQuery(CompiledQuery.raw(`delete from ${ident(def.target)} where date_key = $1`, [dk]))
  const cols = targetColumns.map(ident).join(', ')
  const inserted = await ctx.db.executeQuery(
    CompiledQuery.raw(`insert into ${ident(def.target)} (${cols}) select ${targetColumns.map((c) => `q.${ident(c)}`).join(', ')} from (${select}) q`),
  )
  await dropStaging(ctx.session, staging)
  return {
    rowsProcessed: staged,
    rowsInserted: Number(inserted.numAffectedRows ?? 0),
    rowsDeleted: Number(deleted.numAffectedRows ?? 0),
  }
}

/**
 * The day's partition, by the table's storage policy (src/storage); a partitioned fact table
 * without one (a job file's own table) gets daily partitions of date_key, and that policy.
 * On a server it is created on its own short connection and committed at once: CREATE …
 * PARTITION OF locks the parent table, and holding that lock for a whole build would serialise
 * concurrent backfill days.
 */
async function ensureDayPartition(ctx: JobContext, target: string, day: IsoDate): Promise<void> {
  const runner = ddlRunnerOf(ctx)
  let grain = (await policyOf(ctx.db, target))?.grain
  if (!grain) {
    const { rows } = await sql<{ partitioned: boolean }>`select relkind = 'p' as partitioned from pg_class where oid = ${target}::regclass`.execute(ctx.db)
    if (!rows[0]?.partitioned) return
    grain = '1 day'
    // committed at once, like the partition: concurrent first days must not wait on each other's row
    await registerPolicy(runner.db, { table: target, timeColumn: 'date_key', grain, retention: null, mode: 'native', jobName: ctx.job.name }, ctx.now)
  }
  await ensurePartitions(runner, target, [day], grain)
}

/** The target's columns that the select must produce: all but identity and defaulted ones. */
async function insertableColumns(ctx: JobContext, target: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select attname as name from pg_attribute
    where attrelid = ${target}::regclass and attnum > 0 and not attisdropped and not atthasdef and attidentity = ''
    order by attnum`.execute(ctx.db)
  if (rows.length === 0) throw new Error(`the fact table ${target} does not exist; run 'etl migrate up'`)
  return rows.map((r) => r.name)
}

/**
 * Late-arriving events: the days of the lookback window that were built, but whose source has
 * rows recorded since that build. `etl run` rebuilds them before the day itself.
 */
export async function staleFactDays(env: RunEnv, job: RegisteredJob, date: IsoDate, ledger: LedgerReader): Promise<IsoDate[]> {
  const def = job.definition as unknown as FactDefinition
  if (!def.lookbackDays || !('recordedColumn' in def.source) || !def.source.recordedColumn) return []
  const source = await env.source()
  const stale: IsoDate[] = []
  for (let back = def.lookbackDays; back >= 1; back--) {
    const day = addDays(date, -back)
    const built = await ledger.findSuccess(job.name, day)
    if (!built) continue
    const bounds = dayBounds(day, env.config.timezone)
    const { rows } = await sql<{ late: boolean }>`
      select exists (
        select 1 from ${sql.raw(qualified(def.source.table))}
        where ${sql.ref(def.source.timeColumn)} >= ${bounds.from} and ${sql.ref(def.source.timeColumn)} < ${bounds.to}
          and ${sql.ref(def.source.recordedColumn)} >= ${built.started_at}
      ) as late`.execute(source.db)
    if (rows[0]?.late) stale.push(day)
  }
  return stale
}

export const fact = defineKind({
  schema: FactSchema,
  defaultPartition: 'day',
  inPipeline: true,
  execute: buildFact,
  staleDates: staleFactDays,
  // the fact table, and the calendar every build extends to its day
  targets: (job) => [(job.definition as unknown as FactDefinition).target, 'dim_date'],
  // the day's partition
  checkScope: ({ job, target }) => ({
    table: (job.definition as unknown as FactDefinition).target,
    where: target ? `date_key = ${dateKey(target)}` : 'false',
  }),
})
