import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** One line of `pnpm bench --json`: every scenario prints these keys and no others. */
export interface BenchResult {
  scenario: string
  /** Medians over the repetitions. */
  ours_s: number
  baseline_s: number
  /** The median of the repetitions' ratios (ours over baseline unless the note says otherwise): what the goal is judged on. */
  ratio: number
  ratio_min: number
  ratio_max: number
  repetitions: number
  rows: number
  peak_rss_mb: number
  /** As text (`≤ 1.25`), or `-` for a figure with no goal. */
  goal: string
  /** Whether the median meets the goal; null when there is none. */
  met: boolean | null
  note: string
}

/** A bound on the median ratio: `max` for ratios where lower is better, `min` for higher. */
export type Goal = { max: number } | { min: number } | null

export const serverUrl = () =>
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/** A scratch database on the bench server, dropped by the returned function. */
export async function scratchDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ns_bench_${label}_${randomBytes(4).toString('hex')}`
  await admin(`create database ${name}`)
  return { url: withDatabase(serverUrl(), name), drop: () => admin(`drop database if exists ${name} with (force)`) }
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

export async function seconds<T>(fn: () => Promise<T>): Promise<{ s: number; value: T }> {
  const t0 = performance.now()
  const value = await fn()
  return { s: (performance.now() - t0) / 1000, value }
}

/** Runs a command; resolves with its wall time. An `env` value left undefined removes that variable. */
export function run(command: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ s: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const child = spawn(command, args, { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ s: (performance.now() - t0) / 1000, code, stderr }))
  })
}

export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits

/** The middle value (the upper middle of an even count): one stall of a shared machine does not move it. */
export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * One scenario's line from its repetitions: `ours[i]` and `baseline[i]` measured together, their
 * ratio each (or `ratios`, for a scenario whose ratio is something else); the goal is judged on
 * the median, and min–max shows how far this machine's noise moved it.
 */
export function result(r: {
  scenario: string
  ours: readonly number[]
  baseline: readonly number[]
  ratios?: readonly number[]
  rows: number
  peak_rss_mb: number
  goal: Goal
  /** Goal text when it is more than the bound (`≤ 1.2 and < 150 MB`). */
  goalText?: string
  /** A further condition of the goal (no symbol lost, under 150 MB). */
  alsoMet?: boolean
  note?: string
}): BenchResult {
  const ratios = r.ratios ?? r.ours.map((o, i) => o / r.baseline[i]!)
  const ratio = median(ratios)
  const goal = r.goal
  const met = goal === null ? null : ('max' in goal ? ratio <= goal.max : ratio >= goal.min) && (r.alsoMet ?? true)
  return {
    scenario: r.scenario,
    ours_s: round(median(r.ours)),
    baseline_s: round(median(r.baseline)),
    ratio: round(ratio),
    ratio_min: round(Math.min(...ratios)),
    ratio_max: round(Math.max(...ratios)),
    repetitions: ratios.length,
    rows: r.rows,
    peak_rss_mb: round(r.peak_rss_mb, 1),
    goal: r.goalText ?? (goal === null ? '-' : 'max' in goal ? `≤ ${goal.max}` : `≥ ${goal.min}`),
    met,
    note: r.note ?? '',
  }
}

/** Runs `fn` `n` times, one after the other. */
export async function repeat<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(await fn(i))
  return out
}

/** Reps of at least three: a goal is judged on a median, never on one run. */
export const REPEAT = 3
