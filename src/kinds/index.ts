import type { z } from 'zod'
import type { JobCommon, RegisteredJob } from '../engine/job.js'
import { IDENTIFIER } from '../io/identifiers.js'
import type { KindHandler } from './kind.js'
import { custom } from './custom/index.js'
import { dimension } from './dimension/index.js'
import { prices } from './prices/index.js'
import { fact } from './fact/index.js'
import { rollup } from './rollup/index.js'
import { series } from './series/index.js'
import { tableSync } from './table-sync/index.js'

export { defineKind, RouteError, type Caller, type CommittedRun, type KindHandler, type KindRoute, type RouteRequest } from './kind.js'

/** The kinds table: adding a kind is adding its folder and one line here. */
export const KINDS = {
  custom,
  dimension,
  fact,
  rollup,
  series,
  prices,
  'table-sync': tableSync,
} satisfies Record<string, KindHandler>

export type JobKind = keyof typeof KINDS

/**
 * The warehouse tables the jobs write (their kinds' `targets`) that a custom metric may read,
 * sorted: plain table names only (not a per-tenant pattern), and none of nightshift's own
 * bookkeeping tables (`etl_*`).
 */
export function targetsOf(jobs: readonly RegisteredJob[]): string[] {
  const names = jobs.flatMap((job) => KINDS[job.kind].targets?.(job) ?? [])
  return [...new Set(names.filter((t) => IDENTIFIER.test(t) && !t.startsWith('etl_')))].sort()
}

/** Every kind's name, in the table's order. */
export const JOB_KINDS = Object.keys(KINDS) as JobKind[]

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(KINDS, kind)
}

/**
 * A job file of kind K as its author writes it: the common fields and the kind's own, typed from
 * the kind's schema.
 */
export type JobFileOf<K extends JobKind> = Omit<JobCommon, 'kind'> & { kind: K } & z.input<(typeof KINDS)[K]['schema']>

/** A job file of any kind. */
export type JobFile = { [K in JobKind]: JobFileOf<K> }[JobKind]
