import type { Kysely } from 'kysely'
import type { Config } from '../../config.js'
import type { Bounds, IsoDate } from '../../time/calendar.js'
import type { RegisteredJob } from '../job.js'

/**
 * What a kind tells the engine about the rows a run wrote, so that checks can look at exactly
 * those: the partition of a fact or rollup, the versions a dimension sync inserted or closed.
 *
 * @example
 * { table: 'fact_sessions', where: 'date_key = 20250115' }
 */
export interface CheckScope {
  /** The table the run wrote (`schema.table` or a name on the search path). */
  readonly table: string
  /** An SQL predicate on the table's own columns (no alias) that selects this run's rows. */
  readonly where: string
  /** Columns that name a row in a check's sample (a business key); default: the row itself, shortened. */
  readonly key?: readonly string[]
  /** Where `freshness` looks, before anything is written: a relation of the run's source. */
  readonly source?: { readonly db: () => Promise<Kysely<any>>; readonly relation: string }
}

/** What a kind gets to name the scope: during a run (`runId` set) or afterwards for `etl test` (`runId` null). */
export interface ScopeContext {
  readonly job: RegisteredJob
  readonly target: IsoDate | null
  readonly bounds: Bounds | null
  /** The run's ledger id; null when `etl test` checks a finished partition again. */
  readonly runId: string | null
  readonly config: Config
  /** The run's source, when the run has one (freshness reads it). */
  readonly source?: () => Promise<{ db: Kysely<any> }>
}

/**
 * The rows a run inserted or updated in `table`: those whose `xmin` is the run's transaction.
 * Holds for statements run in the transaction itself, not inside a savepoint (a subtransaction
 * has its own id), which is how dimensions and table syncs write.
 */
export const WRITTEN_BY_THIS_TRANSACTION = 'xmin = pg_current_xact_id_if_assigned()::xid'
