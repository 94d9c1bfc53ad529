import { defineKind } from '../kind.js'
import { WRITTEN_BY_THIS_TRANSACTION } from '../../engine/checks/scope.js'
import { qualified } from '../../io/identifiers.js'
import { connectionOf, TableSyncSchema, type TableSyncDefinition } from './definition.js'

/**
 * Watermark-driven incremental copy of a table (src/sync). No partition: each call copies what
 * changed since the last one. Not part of `etl run` unless the file says `pipeline: true`;
 * `etl sync-table` and `etl sync-tables` run them.
 */
export const tableSync = defineKind({
  schema: TableSyncSchema,
  defaultPartition: 'none',
  inPipeline: false,
  // loaded when a sync runs, not by every command that loads the registry
  execute: async (ctx) => (await import('./sync-table.js')).syncTable(ctx),
  targets: (job) => [(job.definition as unknown as TableSyncDefinition).target, 'etl_watermarks'],
  // the rows this run inserted or changed (the whole table for `etl test`); freshness reads a PostgreSQL source
  checkScope: ({ job, runId, source }) => {
    const def = job.definition as unknown as TableSyncDefinition
    return {
      table: def.target,
      where: runId ? WRITTEN_BY_THIS_TRANSACTION : 'true',
      key: def.primaryKey,
      source:
        source && connectionOf(def) === 'oltp'
          ? { db: async () => (await source()).db, relation: 'table' in def.source ? qualified(def.source.table) : `(${def.source.query}) q` }
          : undefined,
    }
  },
})
