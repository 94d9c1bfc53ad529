import { divertTerminalLogs } from '../log.js'

export interface StepReporter {
  /** A new step (`migrating the warehouse`): a line of its own, or the terminal's one line rewritten. */
  step(text: string): void
  /** Progress inside the step (`build_fact_sessions SUCCESS`): at a terminal only, after the step's text. */
  detail(text: string): void
  /** Takes the line off the screen before anything goes to stdout; the next `step` draws it again. */
  clear(): void
  /** Clears the line for good and gives the logs back their place on stderr. */
  stop(): void
}

const WARN = 40
const CLEAR_LINE = '\r\x1b[2K'

/**
 * What a long command is doing, on stderr. At a terminal: one line that rewrites itself, with
 * log lines at warn and above printed above it and info and debug dropped while it is up (the
 * steps and the final table say the same). Otherwise: each step as a plain line (`demo:
 * migrating the warehouse`), no escape codes, and the logs stay JSON as always.
 *
 * @example
 * const steps = stepReporter('demo')
 * steps.step('migrating the warehouse')
 * steps.stop()
 */
export function stepReporter(prefix: string, stream: NodeJS.WriteStream = process.stderr): StepReporter {
  if (!stream.isTTY) {
    return {
      step: (text) => void stream.write(`${prefix}: ${text}\n`),
      detail() {},
      clear() {},
      stop() {},
    }
  }
  let current = ''
  let detail = ''
  let shown = false
  const draw = () => {
    // a line wider than the terminal wraps, and a wrapped line is not rewritten in place
    const width = Math.max(20, (stream.columns || 80) - 1)
    const text = `${prefix}: ${current}${detail ? ` · ${detail}` : ''}`
    stream.write(`${CLEAR_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`)
    shown = true
  }
  const clear = () => {
    if (shown) stream.write(CLEAR_LINE)
    shown = false
  }
  const restoreLogs = divertTerminalLogs((line, level) => {
    if (level < WARN) return
    const wasShown = shown
    clear()
    stream.write(line)
    if (wasShown) draw()
  })
  return {
    step(text) {
      current = text
      detail = ''
      draw()
    },
    detail(text) {
      detail = text
      if (current) draw()
    },
    clear,
    stop() {
      clear()
      current = ''
      restoreLogs()
    },
  }
}
