import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const fixtureJobs = path.join(root, 'test/fixtures/jobs')
export const badJobs = (name: string) => path.join(root, 'test/fixtures/bad-jobs', name)

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A clean environment: none of the developer's database or key variables leak into a test. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']
  const env: Record<string, string> = {}
  for (const k of keep) if (process.env[k]) env[k] = process.env[k]!
  return { ...env, LOG_LEVEL: 'warn', ETL_JOBS_PATH: fixtureJobs }
}

/** Starts `bin/etl.js` as a subprocess, as cron would. */
export function startEtl(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [path.join(root, 'bin/etl.js'), ...args], {
    cwd: root,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, done }
}

/** `etl serve --port 0 --exit-after N` started, with the address it printed once it listens. */
export async function startServe(env: Record<string, string>, exitAfter = 120): Promise<ReturnType<typeof startEtl> & { url: string }> {
  const server = startEtl(['serve', '--port', '0', '--exit-after', String(exitAfter)], env)
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`etl serve did not start: ${out}`)), 30_000)
    server.child.stdout!.on('data', (d) => {
      out += d
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    server.done.then((r) => reject(new Error(`etl serve exited ${r.code}: ${r.stderr}`)))
  })
  return { ...server, url }
}

export function etl(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startEtl(args, env).done
}

/** stderr lines that are ours (not pino's JSON log lines). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))
}
