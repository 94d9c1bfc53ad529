import type { CustomJobDefinition, JobCommon, JobKind } from './engine/job.js'

/**
 * Typing helpers for job files. Each returns its argument unchanged, so a job file's default
 * export may as well be a plain object; loading validates it either way.
 *
 * @example
 * export default defineJob({ kind: 'custom', partition: 'day', async run(ctx) { return { rowsProcessed: 0 } } })
 */
type Of<K extends JobKind> = JobCommon & { kind: K } & Record<string, unknown>

export const defineJob = <T extends CustomJobDefinition>(job: T): T => job
export const defineDimension = <T extends Of<'dimension'>>(job: T): T => job
export const defineFact = <T extends Of<'fact'>>(job: T): T => job
export const defineRollup = <T extends Of<'rollup'>>(job: T): T => job
export const defineSeries = <T extends Of<'series'>>(job: T): T => job
export const definePrices = <T extends Of<'prices'>>(job: T): T => job
export const defineTableSync = <T extends Of<'table-sync'>>(job: T): T => job
