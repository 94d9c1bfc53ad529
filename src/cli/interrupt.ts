import type { RunOutcome } from '../engine/runner.js'
import { print, setExitCode } from './options.js'

/**
 * SIGINT (Ctrl-C) and SIGTERM (`kill`, Kubernetes, systemd) during a run command. The first one
 * aborts the returned signal: nothing new starts, the runs in flight roll back and are recorded
 * FAILED, every lock is released on the way out as usual, and the command prints what finished
 * and how to resume, then exits 130 / 143. A second one exits at once: the server rolls back what
 * was open when it sees the connection close, and the embedded folder's lock file goes with the
 * process's exit handler.
 */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const
type Signal = keyof typeof SIGNAL_EXIT_CODES

export interface Interrupts {
  readonly signal: AbortSignal
  /** The signal received, if any. */
  readonly received: Signal | undefined
  dispose(): void
}

export function catchInterrupts(): Interrupts {
  const controller = new AbortController()
  let received: Signal | undefined
  const handlers = (Object.keys(SIGNAL_EXIT_CODES) as Signal[]).map((name) => {
    const handler = () => {
      if (received) {
        process.stderr.write(`etl: ${name} again: exiting at once\n`)
        process.exit(SIGNAL_EXIT_CODES[name])
      }
      received = name
      process.stderr.write(`etl: ${name}: starting nothing new and rolling back the runs in flight (${name === 'SIGINT' ? 'Ctrl-C' : name} again exits at once)\n`)
      controller.abort(name)
    }
    process.on(name, handler)
    return () => process.off(name, handler)
  })
  return {
    signal: controller.signal,
    get received() {
      return received
    },
    dispose: () => handlers.forEach((off) => off()),
  }
}

/** Runs a command with interrupts caught; after an interruption, says what finished and how to resume, and sets 130 / 143. */
export async function interruptible<T extends { outcomes: readonly RunOutcome[] } | undefined>(
  fn: (signal: AbortSignal) => Promise<T>,
  resume: (result: T) => string[] = () => process.argv.slice(2),
): Promise<T> {
  const interrupts = catchInterrupts()
  try {
    const result = await fn(interrupts.signal)
    const signal = interrupts.received
    if (signal) {
      const outcomes = result?.outcomes ?? []
      const rolledBack = outcomes.filter((o) => o.message?.startsWith('interrupted (')).length
      print(
        `interrupted by ${signal}: ${outcomes.length - rolledBack} finished, ${rolledBack} rolled back and recorded FAILED; ` +
          `resume with: etl ${resume(result).map(shellQuote).join(' ')}`,
      )
      setExitCode(SIGNAL_EXIT_CODES[signal])
    }
    return result
  } finally {
    interrupts.dispose()
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}
