import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** One line of `pnpm bench --json`. */
export interface BenchResult {
  scenario: string
  ours_s: number
  baseline_s: number
  ratio: number
  rows: number
  peak_rss_mb: number
  goal?: string
  note?: string
}

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

/** Runs a command; resolves with its wall time and its peak RSS (from /usr/bin/time when present). */
export function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ s: number; code: number | null; stderr: string }> {
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

export function result(r: Omit<BenchResult, 'ratio'> & { ratio?: number }): BenchResult {
  return { ...r, ours_s: round(r.ours_s), baseline_s: round(r.baseline_s), ratio: round(r.ratio ?? r.ours_s / r.baseline_s), peak_rss_mb: round(r.peak_rss_mb, 1) }
}
