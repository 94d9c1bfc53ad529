import { spawn } from 'node:child_process'
import path from 'node:path'
import { fixtureJobs, root } from './cli.js'

export interface PtyResult {
  /** The child's exit code: `script -e` returns it. */
  code: number | null
  /** Everything the terminal received, stdout and stderr together, escape codes and all. */
  raw: string
  /** The lines left on the screen, as a terminal would show them after the command (see `screenLines`). */
  lines: string[]
  /** `lines` joined, for matching. */
  text: string
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/**
 * Runs `bin/etl.js` under a real pseudo-terminal (util-linux `script`), so stdout and stderr
 * are TTYs as they are for a person: the pretty logs, the progress bar and the tables are the
 * ones a user sees. The terminal is 120 × 40 so that the output does not depend on the caller's.
 * `stdin` is fed to the command through a pipe (the TTY is only on its output).
 */
export function etlPty(
  args: string[],
  env: Record<string, string> = {},
  options: { stdin?: string; columns?: number; redirect?: string } = {},
): Promise<PtyResult> {
  const input = options.stdin === undefined ? '' : `printf %s ${quote(options.stdin)} | `
  const command = `stty cols ${options.columns ?? 120} rows 40 2>/dev/null; ${input}${etlCommand(args)}${options.redirect ?? ''}`
  return runPty(command, { LOG_LEVEL: 'info', ETL_JOBS_PATH: fixtureJobs, ...env })
}

/** `node bin/etl.js args…`, quoted for the shell. */
export function etlCommand(args: string[]): string {
  return [process.execPath, path.join(root, 'bin/etl.js'), ...args].map(quote).join(' ')
}

/** Runs a shell command under `script -qec`, with only the given environment (plus PATH, HOME, TZ). */
export function runPty(command: string, env: Record<string, string>): Promise<PtyResult> {
  const base: Record<string, string> = { TERM: 'xterm-256color' }
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[k]) base[k] = process.env[k]!
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let raw = ''
  child.stdout.on('data', (d) => (raw += d))
  child.stderr.on('data', (d) => (raw += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const lines = screenLines(raw)
      resolve({ code, raw, lines, text: lines.join('\n') })
    })
  })
}

/**
 * A small terminal: the lines that stay in the scrollback after `raw` is drawn. It follows what
 * the CLI and cli-progress emit (carriage return, cursor to column, clear line / to the right /
 * below, colours ignored), which is enough to see a progress bar redraw itself in place and to
 * catch a log line that lands inside it.
 */
export function screenLines(raw: string): string[] {
  const lines: string[] = []
  let line: string[] = []
  let col = 0
  const put = (ch: string) => {
    while (line.length < col) line.push(' ')
    line[col++] = ch
  }
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    if (ch === '\x1b') {
      const m = /^\x1b\[([?\d;]*)([A-Za-z])/.exec(raw.slice(i, i + 16))
      if (!m) continue
      i += m[0].length - 1
      const [, arg, op] = m
      if (op === 'G') col = Math.max(0, Number(arg || 1) - 1)
      else if (op === 'K') line = arg === '2' ? [] : arg === '1' ? line.map((c, j) => (j < col ? ' ' : c)) : line.slice(0, col)
      else if (op === 'J') line = line.slice(0, col)
      continue
    }
    if (ch === '\r') col = 0
    else if (ch === '\n') {
      lines.push(line.join('').trimEnd())
      line = []
      col = 0
    } else put(ch)
  }
  if (line.length) lines.push(line.join('').trimEnd())
  return lines.filter((l, i) => l !== '' || i < lines.length - 1)
}
