import { pino, type Logger } from 'pino'
import { terminalLine } from './log-line.js'
import { redact } from './redact.js'

export type { Logger }

/** Where a terminal log line goes instead of stderr, while something (a progress bar) owns the screen. */
export type TerminalSink = (line: string, level: number) => void

let diverted: TerminalSink | undefined

/**
 * Sends terminal log lines to `sink` until the returned function is called: a progress bar
 * prints them above itself, so a log line never breaks into the bar. JSON logs (no terminal)
 * are never diverted.
 */
export function divertTerminalLogs(sink: TerminalSink): () => void {
  diverted = sink
  return () => {
    if (diverted === sink) diverted = undefined
  }
}

/**
 * The root logger. Logs go to stderr so that stdout stays clean for `--json` and tables:
 * JSON lines when stderr is not a TTY (cron, Kubernetes), one short line per event when a
 * person watches. Every line passes through `redact`, so a connection string inside a driver's
 * error message is masked too.
 */
export function createLogger(options: { level: string; pretty?: boolean; debug?: boolean; noColor?: boolean }): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true
  if (pretty) {
    const lineOptions = {
      colour: process.stderr.isTTY === true && !options.noColor,
      debug: options.debug === true,
    }
    const sink = {
      write(json: string) {
        const record = JSON.parse(json) as Record<string, unknown>
        const line = redact(terminalLine(record, lineOptions))
        if (diverted) diverted(line, Number(record.level))
        else process.stderr.write(line)
      },
    }
    return pino({ level: options.level }, sink)
  }
  const sink = { write: (line: string) => process.stderr.write(redact(line)) }
  return pino({ level: options.level, base: { pid: process.pid } }, sink)
}

/** A logger that drops everything, for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' }, { write: () => {} }) // a sink: no stdout writer made for nothing
