import type { LedgerTables } from '../engine/ledger/table.js'

export type { RunStatus } from '../engine/ledger/table.js'

/** The warehouse's tables that code reads through kysely's typed builder, composed from the modules that own them. */
export type WarehouseSchema = LedgerTables
