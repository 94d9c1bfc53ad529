import type { ConsoleAttempt, InvocationSummary } from '../../engine/ledger/index.js'

/**
 * The Runs page: invocations (one command's run id) newest first. The command that made one is
 * recorded with its runs (`parameters.command`); for rows from before that, or library use, it is
 * read from the rows: later attempts of failed pairs only is a retry, several partitions a
 * backfill, else a run.
 */
export type InvocationKind = 'run' | 'backfill' | 'retry'

export interface Invocation extends InvocationSummary {
  readonly kind: InvocationKind
  /** The command that finishes it: retry its failures, or nothing when all went well. */
  readonly command: string | null
}

export function describeInvocation(s: InvocationSummary): Invocation {
  const worked = s.pairs - s.skipped
  const byRows: InvocationKind = s.partitions > 1 ? 'backfill' : 'run'
  // the recorded command settles a retry (a forced run-job of a failed pair is not one); without it, the rows
  const kind: InvocationKind = s.made_by ? (kindOfCommand(s.made_by) ?? byRows) : s.retried > 0 && s.retried === worked ? 'retry' : byRows
  const bad = s.failed + s.partial + s.running
  return { ...s, kind, command: bad > 0 ? `etl retry --run-id ${s.invocation_id}` : null }
}

/** `etl retry` and `etl backfill` by name; other commands (run, run-job, demo, serve) by how many days they ran. */
function kindOfCommand(command: string): InvocationKind | undefined {
  const verb = command.split(' ')[1]
  return verb === 'retry' ? 'retry' : verb === 'backfill' ? 'backfill' : undefined
}

export interface TimelineBar {
  readonly attempt: ConsoleAttempt
  /** Offset from the invocation's start and length, as fractions of its span (0..1). */
  readonly left: number
  readonly width: number
}

/** Gantt bars of an invocation's attempts by start and duration; overlapping bars are pairs that ran at once. */
export function timeline(attempts: readonly ConsoleAttempt[], now: Date): { bars: TimelineBar[]; spanMs: number; startedAt: Date | null } {
  if (attempts.length === 0) return { bars: [], spanMs: 0, startedAt: null }
  const start = Math.min(...attempts.map((a) => a.started_at.getTime()))
  const endOf = (a: ConsoleAttempt) => a.completed_at?.getTime() ?? (a.duration_ms !== null ? a.started_at.getTime() + a.duration_ms : now.getTime())
  const end = Math.max(...attempts.map(endOf), start + 1)
  const span = end - start
  const bars = attempts.map((a) => {
    const left = (a.started_at.getTime() - start) / span
    return { attempt: a, left, width: Math.max((endOf(a) - a.started_at.getTime()) / span, 0.002) }
  })
  return { bars, spanMs: span, startedAt: new Date(start) }
}
