import { z } from 'zod'
import type { JobCommon, JobContext, JobResult } from '../../engine/job.js'
import { IDENTIFIER } from '../../io/identifiers.js'
import { defineKind } from '../kind.js'

/** A job whose work is code: `run` gets the context and returns counts. */
export interface CustomJobDefinition extends JobCommon {
  kind: 'custom'
  /** The warehouse tables `run` writes: custom metrics may read them. */
  targets?: string[]
  run(ctx: JobContext): Promise<JobResult | void>
}

/** A job whose work is its own `run(ctx)` function. */
export const custom = defineKind({
  schema: z.looseObject({
    run: z.custom<CustomJobDefinition['run']>((v) => typeof v === 'function', { message: 'must be a function run(ctx)' }),
    /** The warehouse tables `run` writes: custom metrics may read them. */
    targets: z.array(z.string().regex(IDENTIFIER, 'must be a table name')).optional(),
  }),
  targets: (job) => (job.definition as unknown as { targets?: string[] }).targets ?? [],
  defaultPartition: 'day',
  inPipeline: true,
  async execute(ctx: JobContext) {
    return (ctx.job.definition as unknown as CustomJobDefinition).run(ctx)
  },
})
