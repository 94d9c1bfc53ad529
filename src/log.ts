import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { redact } from './redact.js'

export type { Logger }

const require = createRequire(import.meta.url)

/**
 * The root logger. Logs go to stderr so that stdout stays clean for `--json` and tables:
 * JSON lines when stderr is not a TTY (cron, Kubernetes), pino-pretty when a person watches.
 * Every line passes through `redact`, so a connection string inside a driver's error message
 * is masked too.
 */
export function createLogger(options: { level: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true
  const sink = { write: (line: string) => process.stderr.write(redact(line)) }
  if (pretty) {
    // loaded only for people at a terminal: pino-pretty costs start-up time cron should not pay
    const pinoPretty = require('pino-pretty') as typeof import('pino-pretty')
    // pino-pretty pipes into its destination, so it needs a real stream (a plain {write} crashed
    // every command at a terminal with `stream.on is not a function`)
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        sink.write(chunk.toString())
        done()
      },
    })
    const stream = pinoPretty({ destination, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' })
    return pino({ level: options.level }, stream)
  }
  return pino({ level: options.level, base: { pid: process.pid } }, sink)
}

/** A logger that drops everything, for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' })
