import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export interface ProgressReporter {
  start(total: number): void
  tick(label: string): void
  stop(): void
}

/** A progress bar on stderr when a person watches; nothing for cron. */
export function progressReporter(): ProgressReporter {
  if (!process.stderr.isTTY) return { start() {}, tick() {}, stop() {} }
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress')
  const bar = new SingleBar(
    { format: 'backfill [{bar}] {value}/{total} {last}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  )
  let started = false
  return {
    start(total) {
      started = true
      bar.start(total, 0, { last: '' })
    },
    tick(label) {
      if (started) bar.increment(1, { last: label })
    },
    stop() {
      if (started) bar.stop()
    },
  }
}
