import { createRequire } from 'node:module'
import { divertTerminalLogs } from '../log.js'

const require = createRequire(import.meta.url)

export interface ProgressReporter {
  start(total: number): void
  tick(label: string): void
  stop(): void
}

const WARN = 40

/**
 * A progress bar on stderr when a person watches; nothing for cron. While the bar is drawn, log
 * lines at warn and above are printed above it through the bar's own log buffer (a line written
 * straight to stderr would land in the middle of the bar); info and debug lines are dropped, the
 * bar and the final table say the same.
 */
export function progressReporter(label = 'backfill'): ProgressReporter {
  if (!process.stderr.isTTY) return { start() {}, tick() {}, stop() {} }
  const { MultiBar, Presets } = require('cli-progress') as typeof import('cli-progress')
  const bars = new MultiBar(
    { format: `${label} [{bar}] {value}/{total} {last}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  )
  let bar: ReturnType<typeof bars.create> | undefined
  let restoreLogs = () => {}
  return {
    start(total) {
      bar = bars.create(total, 0, { last: '' })
      restoreLogs = divertTerminalLogs((line, level) => {
        if (level >= WARN) bars.log(line)
      })
    },
    tick(text) {
      // a label wider than the terminal wraps, and a wrapped bar is redrawn one line lower each time
      const room = Math.max(10, (process.stderr.columns || 80) - label.length - 60)
      bar?.increment(1, { last: text.length > room ? `${text.slice(0, room - 1)}…` : text })
    },
    stop() {
      if (!bar) return
      bar = undefined
      // a redraw prints what is still in the log buffer above the bar before the bar goes away
      bars.update()
      bars.stop()
      restoreLogs()
    },
  }
}
