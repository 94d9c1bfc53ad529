import type { RunOutcome } from '../engine/runner.js'
import { exitCodeOfOutcomes } from '../engine/sequence.js'
import { print, setExitCode, table } from './options.js'

/**
 * Prints what a command ran, one row per (job, partition), then a line of counts, and sets the
 * exit code from it. `table: false` prints only the line (`etl demo` shows the ledger instead).
 */
export function reportOutcomes(outcomes: readonly RunOutcome[], invocationId: string, options: { dryRun?: boolean; table?: boolean } = {}): void {
  if (outcomes.length === 0) {
    print('nothing to run: no job matched')
    return
  }
  if (options.table !== false) print(
    table(
      ['job', 'partition', 'status', 'rows', 'ms', 'note'],
      outcomes.map((o) => [
        o.job,
        o.target ?? '-',
        o.status,
        o.result.rowsProcessed ?? 0,
        o.durationMs,
        o.message ? truncate(o.message, 100) : '',
      ]),
    ),
  )
  const counts = new Map<string, number>()
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1)
  const summary = [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ')
  if (options.dryRun) {
    print(`dry run: ${summary}; nothing was run or recorded`)
    return
  }
  const code = exitCodeOfOutcomes(outcomes)
  print(`run ${invocationId}: ${summary}${code ? `; retry the failures with: etl retry --run-id ${invocationId}` : ''}`)
  setExitCode(code)
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ')
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine
}
