import type { ColumnType, Generated, Selectable } from 'kysely'

/**
 * The ledger's table: its name and its kysely type, in one place. A new column goes in a
 * migration and here; `LedgerRow` (what `etl status --json` prints) follows from the type.
 */
export const LEDGER_TABLE = 'etl_job_runs'

export type RunStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'SKIPPED' | 'PARTIAL'

/** One row per attempt of a (job, partition); SPEC section 4. */
export interface LedgerTable {
  id: Generated<string>
  invocation_id: string | null
  job_name: string
  run_date: string
  target_date: string | null
  status: RunStatus
  rows_processed: ColumnType<number, number | undefined, number>
  rows_inserted: ColumnType<number, number | undefined, number>
  rows_updated: ColumnType<number, number | undefined, number>
  rows_deleted: ColumnType<number, number | undefined, number>
  duration_ms: number | null
  error_message: string | null
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  completed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  heartbeat_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  attempt: ColumnType<number, number | undefined, number>
  host: string | null
  pid: number | null
  parameters: ColumnType<Record<string, unknown>, string | undefined, string>
  failed_units: ColumnType<unknown[] | null, string | null | undefined, string | null>
}

/** The ledger's part of the warehouse's kysely schema (src/db/schema.ts composes it). */
export interface LedgerTables {
  [LEDGER_TABLE]: LedgerTable
}

/** A ledger row as read. */
export type LedgerRow = Selectable<LedgerTable>
