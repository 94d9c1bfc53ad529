import { sql, type Kysely } from 'kysely'
import type { JobContext, JobResult } from '../../engine/job.js'
import { copyOptions, sameTypes, type CopyFormat } from '../../io/copy-format.js'
import type { SourceColumn } from '../../io/describe.js'
import { ident, qualified, stagingSchema } from '../../io/identifiers.js'
import { copyInFrom, dropStaging, stageRows } from '../../io/staging.js'
import { connectionOf, type TableSyncDefinition } from './definition.js'
import { chunkOf, ddlRunnerOf, distinctDays, ensurePartitions, parseGrain } from '../../storage/partitions.js'
import { registerPolicy } from '../../storage/policy.js'
import { postgresSource, type Since, type SyncSource } from './source.js'
import { prepareTarget, type Storage } from './target.js'
import { upsertFromStaging } from './upsert.js'
import { castType, isTimeType, lowerBound, readWatermark, writeWatermark } from './watermark.js'
import { dropWindow, keepWindow, openWindow, windowTable } from './window.js'

const SYNC_WORK_MEM = '64MB'

/**
 * One run of a table sync, inside the run's transaction:
 *  1. read the watermark and extract `incrementalColumn >= watermark − lookbackDays` (`>=`:
 *     at least once; rows read again upsert to the same content and are not rewritten);
 *  2. stream those rows into a staging table and upsert them into the target by primary key,
 *     leaving out rows equal to the last run's window (src/kinds/table-sync/window.ts); a first or
 *     `--full-refresh` load of a plain or natively partitioned target (its partitions made
 *     first, from the source's days) COPYs straight into it;
 *  3. move the watermark to the largest value loaded and keep the staged rows as the next run's
 *     window, in the same transaction as the rows and the ledger's SUCCESS row, so a run that
 *     dies anywhere leaves both where they were.
 */
export async function syncTable(ctx: JobContext, sourceOverride?: SyncSource): Promise<JobResult> {
  const def = ctx.job.definition as unknown as TableSyncDefinition
  const fullRefresh = ctx.parameters.fullRefresh === true
  const source = sourceOverride ?? (await openSource(ctx, def))
  const columns = await source.describe()
  const incrementalType = checkColumns(def, columns)
  const lookbackDays = def.lookbackDays ?? 0
  if (lookbackDays > 0 && !isTimeType(incrementalType)) {
    throw new Error(`lookbackDays needs a date or timestamp incrementalColumn; ${def.incrementalColumn} is ${incrementalType}`)
  }

  // watermarks and partition bounds print as text: one zone for every run, whatever the server's
  await sql`set local timezone to 'UTC'`.execute(ctx.db)
  // the hash of the window and the sort by key stay in memory up to a few hundred thousand rows
  // (the default 4MB spills them to disk); a server set higher keeps its own
  await sql`select set_config('work_mem', ${SYNC_WORK_MEM}, true) where pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(${SYNC_WORK_MEM})`.execute(ctx.db)
  const mark = fullRefresh ? undefined : await readWatermark(ctx.db, ctx.job.name)
  const since: Since | null =
    mark?.last_value != null
      ? { column: def.incrementalColumn, value: await lowerBound(ctx.db, mark.last_value, incrementalType, lookbackDays), type: incrementalType }
      : null
  ctx.log.info({ since: since?.value ?? 'everything', fullRefresh }, 'extracting')

  const ddl = ctx.warehouse.concurrent ? ctx.warehouse : ctx.session
  const state = await prepareTarget({ db: ctx.db, ddl, def, columns, log: ctx.log })
  const target = ident(def.target)
  const inc = ident(def.incrementalColumn)
  const t = castType(incrementalType)

  const window = windowTable(stagingSchema(ctx.config.warehouseSchema), ctx.job.name)
  // a source that allows a key twice goes through staging, where the newest row of a key is kept
  const uniqueKeys = (await source.uniqueKey?.(def.primaryKey)) ?? false
  let counts: { processed: number; inserted: number; updated: number }
  let newMark: string | null
  // binary COPY between two servers when the types allow it (the rows are not converted on the way)
  const binaryOut = ctx.session.kind === 'postgres' && ((await source.binary?.(columns)) ?? false)
  let format: CopyFormat = 'text'
  // a natively partitioned target takes the COPY too once the partitions of every source row
  // exist (a hypertable makes its own chunks, but that path is not tested: it goes through staging)
  const straight = state.storage === 'plain' || (state.storage === 'native' && source.days !== undefined)
  // a partitioned target is looked at outside the run's transaction: a lock that this transaction
  // held on it would keep the other connection's CREATE … PARTITION OF waiting for ever
  const looker = state.storage === 'native' && ctx.warehouse.concurrent ? ctx.warehouse.db : ctx.db
  if (uniqueKeys && straight && since === null && (fullRefresh || state.created || (await isEmpty(looker, def.target)))) {
    // nothing to merge with: the source's COPY goes straight into the target, as fast as a raw pipe
    if (state.storage === 'native') await partitionsAhead(ctx, def, await source.days!(partitionColumn(def, columns)))
    if (fullRefresh) await sql`truncate table ${sql.raw(target)}`.execute(ctx.db)
    // an existing target may differ in a type modifier (sameType), which only text converts
    if (binaryOut && (await sameTypes(ctx.db, def.target, columns))) format = 'binary'
    const loaded = await copyInFrom(
      ctx.session,
      `copy ${target} (${columns.map((c) => ident(c.name)).join(', ')}) from stdin${copyOptions(format)}`,
      () => source.rows(columns, null, format),
    )
    counts = { processed: loaded, inserted: loaded, updated: 0 }
    newMark = await maxValue(ctx.db, target, inc, t, null)
    await dropWindow(ctx.db, window)
  } else {
    const stagingName = `${stagingSchema(ctx.config.warehouseSchema)}.${ctx.job.name}`
    const staging = qualified(stagingName)
    // staging is made from the source's columns: the same types
    if (binaryOut) format = 'binary'
    const staged = await stageRows(ctx.session, stagingName, columns, () => source.rows(columns, since, format), { analyze: false, format })
    // only an incremental run into the table the window was kept for can trust it; looked at
    // before new (empty) partitions change the table's storage
    const previous = since !== null && !state.created ? await openWindow(ctx.db, window, def.target, staging) : null
    if (state.storage === 'native') await partitionsAhead(ctx, def, await distinctDays(ctx.db, `${staging} q`, partitionColumn(def, columns)))
    // after the partitions: TRUNCATE locks the target, and the partitions are made on another connection
    if (fullRefresh && !state.created) await sql`truncate table ${sql.raw(target)}`.execute(ctx.db)
    const upserted = await upsertFromStaging(ctx.db, {
      target: def.target,
      staging,
      columns,
      primaryKey: def.primaryKey,
      newestFirst: def.incrementalColumn,
      window: previous?.sql ?? null,
      since,
      targetEmpty: state.created || fullRefresh,
      uniqueKeys,
    })
    counts = { processed: staged, ...upserted }
    newMark = await maxValue(ctx.db, staging, inc, t, mark?.last_value ?? null)
    if (since !== null) {
      await keepWindow(ctx.db, { staging, window, target: def.target })
    } else {
      // a load of everything keeps no window: the next run compares what it reads with the target
      await dropStaging(ctx.session, stagingName)
      await dropWindow(ctx.db, window)
    }
  }

  await writeWatermark(ctx.db, { jobName: ctx.job.name, value: newMark, type: incrementalType, rows: counts.processed, at: ctx.now, setBy: 'sync' })
  if (def.timePartition) await recordPolicy(ctx.db, def, ctx.job.name, state.storage, ctx.now)
  ctx.log.info({ watermark: newMark, ...counts, copy: format }, 'synced')
  return { rowsProcessed: counts.processed, rowsInserted: counts.inserted, rowsUpdated: counts.updated }
}

async function openSource(ctx: JobContext, def: TableSyncDefinition): Promise<SyncSource> {
  if (connectionOf(def) === 'bigquery') {
    const { bigquerySource } = await import('./bigquery/source.js')
    return bigquerySource(def.source, { log: ctx.log, settings: ctx.config.bigquery })
  }
  return postgresSource(await ctx.source(), def.source)
}

/** The incremental column's type; the key and incremental columns must be source columns. */
function checkColumns(def: TableSyncDefinition, columns: readonly SourceColumn[]): string {
  const names = columns.map((c) => c.name)
  const wanted = [...def.primaryKey, def.incrementalColumn, ...(def.timePartition ? [def.timePartition.column] : [])]
  const missing = [...new Set(wanted.filter((c) => !names.includes(c)))]
  if (missing.length) throw new Error(`the source has no column ${missing.join(', ')} (it has ${names.join(', ')})`)
  if (def.timePartition) {
    const type = partitionColumn(def, columns).type
    if (!isTimeType(type)) throw new Error(`timePartition.column ${def.timePartition.column} must be a date or timestamp; it is ${type}`)
  }
  return columns.find((c) => c.name === def.incrementalColumn)!.type
}

async function isEmpty(db: Kysely<any>, table: string): Promise<boolean> {
  const { rows } = await sql<{ empty: boolean }>`select not exists (select 1 from ${sql.table(table)}) as empty`.execute(db)
  return rows[0]!.empty
}

/** The largest incremental value in `table`, never below the previous watermark (rows may have been deleted at the source). */
async function maxValue(db: Kysely<any>, table: string, column: string, type: string, previous: string | null): Promise<string | null> {
  const { rows } = await sql<{ value: string | null }>`
    select greatest(max(${sql.raw(column)}), ${previous}::text::${sql.raw(type)})::text as value from ${sql.raw(table)}`.execute(db)
  return rows[0]!.value
}

const partitionColumn = (def: TableSyncDefinition, columns: readonly SourceColumn[]) => columns.find((c) => c.name === def.timePartition!.column)!

/**
 * The chunks of the rows' `days`, plus now's and the next one, so rows written between runs
 * find a partition. Only chunks that hold rows: old data does not fill the years up to now
 * with empty partitions.
 */
async function partitionsAhead(ctx: JobContext, def: TableSyncDefinition, days: readonly string[]) {
  const grain = parseGrain(def.timePartition!.chunk)
  const now = chunkOf(ctx.now.toISOString().slice(0, 10), grain)
  const created = await ensurePartitions(ddlRunnerOf(ctx), def.target, [now.from, now.to, ...days], grain.sql)
  if (created.length) ctx.log.info({ partitions: created.length, first: created[0], last: created.at(-1) }, `created partitions of ${def.target}`)
}

/** The target's storage policy, as the job file says (its retention included). */
async function recordPolicy(db: Kysely<any>, def: TableSyncDefinition, jobName: string, storage: Storage, now: Date): Promise<void> {
  const part = def.timePartition!
  await registerPolicy(
    db,
    {
      table: def.target,
      timeColumn: part.column,
      grain: parseGrain(part.chunk).sql,
      retention: parseGrain(part.retention).sql,
      mode: storage === 'timescaledb' ? 'timescaledb' : 'native',
      jobName,
    },
    now,
  )
}
