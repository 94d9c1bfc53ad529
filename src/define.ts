import type { JobFile, JobFileOf } from './kinds/index.js'

/**
 * Typing helpers for job files. Each returns its argument unchanged, so a job file's default
 * export may as well be a plain object; loading validates it either way. The types come from
 * the kinds' schemas (src/kinds/<kind>/index.ts): `defineJob` takes a job file of any kind,
 * the others one of their kind.
 *
 * @example
 * export default defineJob({ kind: 'custom', partition: 'day', async run(ctx) { return { rowsProcessed: 0 } } })
 */
export const defineJob = <T extends JobFile>(job: T): T => job
export const defineDimension = <T extends JobFileOf<'dimension'>>(job: T): T => job
export const defineFact = <T extends JobFileOf<'fact'>>(job: T): T => job
export const defineRollup = <T extends JobFileOf<'rollup'>>(job: T): T => job
export const defineSeries = <T extends JobFileOf<'series'>>(job: T): T => job
export const definePrices = <T extends JobFileOf<'prices'>>(job: T): T => job
export const defineTableSync = <T extends JobFileOf<'table-sync'>>(job: T): T => job
