import { z } from 'zod'
import type { JobContext, JobKind, JobResult, LedgerReader, PartitionKind, RegisteredJob } from '../engine/job.js'
import type { RunEnv } from '../engine/runner.js'
import type { IsoDate } from '../time/calendar.js'
import { custom } from './custom/index.js'
import { dimension } from './dimension/index.js'
import { prices } from './prices/index.js'
import { fact } from './fact/index.js'
import { rollup } from './rollup/index.js'
import { series } from './series/index.js'
import { tableSync } from './table-sync/index.js'

/**
 * What a kind of job does. The engine knows kinds only through this table: the fields a job
 * file of that kind must have, its default partition, whether `etl run` includes it, and the
 * work itself.
 */
export interface KindHandler {
  readonly schema: z.ZodType
  readonly defaultPartition: PartitionKind
  readonly inPipeline: boolean
  readonly execute: (ctx: JobContext) => Promise<JobResult | void>
  /** Earlier partitions whose source changed since they were built (late-arriving data); `etl run` redoes them first. */
  readonly staleDates?: (env: RunEnv, job: RegisteredJob, date: IsoDate, ledger: LedgerReader) => Promise<IsoDate[]>
}

export const KINDS: Record<JobKind, KindHandler> = {
  custom,
  dimension,
  fact,
  rollup,
  series,
  prices,
  'table-sync': tableSync,
}
