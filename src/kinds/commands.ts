import type { Command } from 'commander'
import type { JobKind } from './index.js'
import { registerDimensionCommands } from './dimension/commands.js'
import { registerFactCommands } from './fact/commands.js'
import { registerPricesCommands } from './prices/commands.js'
import { registerRollupCommands } from './rollup/commands.js'
import { registerSeriesCommands } from './series/commands.js'
import { registerSyncCommands } from './table-sync/commands.js'

/**
 * The commands each kind adds to `etl`, registered by src/cli/program.ts in this order. The other
 * half of the kinds table (src/kinds/index.ts): kept apart because that table loads every kind's
 * schema (zod, kysely: ~0.2 s), which `etl --help` and a flag error should not pay. A kind's
 * commands.ts holds only commander definitions; its actions load when a command runs.
 */
export const KIND_COMMANDS: Partial<Record<JobKind, (program: Command) => void>> = {
  dimension: registerDimensionCommands,
  fact: registerFactCommands,
  rollup: registerRollupCommands,
  series: registerSeriesCommands,
  prices: registerPricesCommands,
  'table-sync': registerSyncCommands,
}
