import { TableSyncSchema } from './definition.js'
import { defineKind } from '../kind.js'

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
})
