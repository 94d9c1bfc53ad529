/**
 * The ledger (SPEC section 4): the only module that reads or writes its table. One row per
 * attempt of a (job, partition).
 *
 * - table.ts: the table's name and kysely type; `LedgerRow` follows from it
 * - write.ts: the runner's writes (insert RUNNING/SKIPPED/FAILED, finish, abandon dead runs)
 * - read.ts: one pair or one job (latest SUCCESS, latest attempt, attempts, successes in a range)
 * - failures.ts: what failed and is not SUCCESS since (retry, check), stale RUNNING rows
 * - upstream.ts: partitions built before an input was rebuilt
 * - stats.ts, success-rate.ts: per-job figures for /metrics, daily success rates for `etl status`
 * - retention.ts: pruning old rows
 * - reader.ts: the read-only view a job's work gets as `ctx.ledger`
 * - console.ts: the run console's reads (attempts of a range, invocations)
 */
export { LEDGER_TABLE, type LedgerRow, type LedgerTable, type LedgerTables, type RunStatus } from './table.js'
export { pairKey } from './db.js'
export { abandonGoneRuns, abandonRunning, finishRun, insertRun, type NewRun } from './write.js'
export {
  countAttempts,
  findSuccess,
  hasRunning,
  latestAttempt,
  latestSuccessPerPartition,
  latestSuccessTarget,
  recentRuns,
  succeededSince,
  successDays,
  successfulPairs,
  type Attempt,
} from './read.js'
export { failedPairsInRange, failedPairsOfRun, goneRuns, recentFailures, type FailedPair, type Failure, type GoneRun } from './failures.js'
export { rebuiltUpstream } from './upstream.js'
export { jobStats, type JobStats } from './stats.js'
export { dailySuccessRate, percent, type DailyRate } from './success-rate.js'
export { DEFAULT_LEDGER_RETENTION, LEDGER_RETENTION, pruneLedger } from './retention.js'
export { ledgerReader, type LedgerReader } from './reader.js'
export { attemptsInRange, attemptsOfInvocation, attemptsOfInvocations, attemptsOfJob, recentInvocations, type ConsoleAttempt, type InvocationSummary } from './console.js'
