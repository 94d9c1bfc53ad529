/**
 * One error class for everything nightshift reports to a user. The code decides the exit code
 * (SPEC section 3) in one place, `exitCodeOf`, so commands never pick numbers themselves.
 *
 * @example
 * throw new EtlError('BAD_DATE', "--date '2025-02-30' is not a calendar day")
 */
export type EtlErrorCode =
  // exit 2: bad usage or bad input; nothing was run or recorded
  | 'USAGE'
  | 'BAD_DATE'
  | 'BAD_RANGE'
  | 'UNKNOWN_JOB'
  | 'BAD_JOB_FILE'
  | 'JOB_CYCLE'
  | 'BAD_INPUT'
  // exit 3: the environment is not usable
  | 'DB_UNREACHABLE'
  | 'PENDING_MIGRATIONS'
  | 'CONFIG'
  | 'DATA_DIR_LOCKED'
  | 'REDIS_UNREACHABLE'
  // exit 1: a job ran and failed
  | 'JOB_FAILED'

const EXIT_CODES: Record<EtlErrorCode, 1 | 2 | 3> = {
  USAGE: 2,
  BAD_DATE: 2,
  BAD_RANGE: 2,
  UNKNOWN_JOB: 2,
  BAD_JOB_FILE: 2,
  JOB_CYCLE: 2,
  BAD_INPUT: 2,
  DB_UNREACHABLE: 3,
  PENDING_MIGRATIONS: 3,
  CONFIG: 3,
  DATA_DIR_LOCKED: 3,
  REDIS_UNREACHABLE: 3,
  JOB_FAILED: 1,
}

export class EtlError extends Error {
  readonly code: EtlErrorCode

  constructor(code: EtlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EtlError'
    this.code = code
  }

  get exitCode(): 1 | 2 | 3 {
    return EXIT_CODES[this.code]
  }
}

export function isEtlError(error: unknown): error is EtlError {
  return error instanceof EtlError
}

/** Exit code for anything thrown out of a command: our own errors map by code, the rest is 1. */
export function exitCodeOf(error: unknown): number {
  if (isEtlError(error)) return error.exitCode
  if (isConnectionError(error)) return 3
  return 1
}

/** SQLSTATE of a PostgreSQL error (pg and PGlite both expose it as `code`). */
export function pgErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN'])

/**
 * True for failures to reach a server: socket errors, and SQLSTATE class 08 (connection
 * exception), 28 (invalid authorization) and 3D000 (database does not exist).
 */
export function isConnectionError(error: unknown): boolean {
  const errno = (error as { code?: unknown } | null)?.code
  if (typeof errno === 'string' && CONNECTION_ERRNOS.has(errno)) return true
  const sqlstate = pgErrorCode(error)
  if (sqlstate && (sqlstate.startsWith('08') || sqlstate.startsWith('28') || sqlstate === '3D000' || sqlstate === '57P03')) {
    return true
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionError)
  return false
}
