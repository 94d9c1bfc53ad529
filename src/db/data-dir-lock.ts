import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { EtlError } from '../errors.js'

/**
 * An exclusive lock on the embedded database folder. Two processes opening one PGlite data
 * directory silently lose committed rows, so the second waits (overlapping cron entries are
 * normal) and gives up after `timeoutMs` with DATA_DIR_LOCKED (exit 3).
 *
 * The lock is a file created with O_EXCL holding `pid@host` and, on a second line, the command
 * (`etl backfill`), so that a waiter can say whom it waits for. A holder that died (kill -9, OOM)
 * cannot remove it, so a waiter on the same host that finds the pid gone takes it over.
 */
export interface DataDirLock {
  release(): void
}

const POLL_MS = 100

export interface LockOptions {
  /** Called once, when the folder is found held by a live process: one line saying whom we wait for. */
  onWait?: (message: string) => void
}

export async function lockDataDir(dataDir: string, timeoutMs: number, options: LockOptions = {}): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true })
  const file = path.join(dataDir, 'nightshift.lock')
  const me = `${process.pid}@${os.hostname()}\n${commandName()}`
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    if (tryCreate(file, me)) break
    const holder = readHolder(file)
    if (holder && isDead(holder)) {
      takeOverStale(file, holder.raw)
      continue
    }
    if (Date.now() >= deadline) {
      throw new EtlError(
        'DATA_DIR_LOCKED',
        `the embedded database in ${dataDir} is in use by process ${holder ? describe(holder, true) : 'unknown'} and stayed locked for ${Math.round(
          timeoutMs / 1000,
        )}s; wait for it, raise --lock-timeout, or set WAREHOUSE_DATABASE_URL to use a server`,
      )
    }
    if (!told && holder && holder.pid > 0) {
      told = true
      options.onWait?.(`waiting for the embedded database, held by pid ${describe(holder, holder.host !== os.hostname())}, up to ${Math.round(timeoutMs / 1000)} s`)
    }
    await sleep(POLL_MS)
  }
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    try {
      if (fs.readFileSync(file, 'utf8') === me) fs.unlinkSync(file)
    } catch {
      // already gone
    }
  }
  process.on('exit', release)
  return { release }
}

function tryCreate(file: string, content: string): boolean {
  try {
    fs.writeFileSync(file, content, { flag: 'wx' })
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

interface Holder {
  pid: number
  host: string
  /** `etl backfill`; empty in a lock file written before the command was recorded */
  command: string
  raw: string
}

function readHolder(file: string): Holder | undefined {
  try {
    const raw = fs.readFileSync(file, 'utf8')
    const [who = '', command = ''] = raw.split('\n')
    const [pid, host] = who.split('@')
    return { pid: Number(pid), host: host ?? '', command: command.trim(), raw }
  } catch {
    return undefined
  }
}

/** `4242 (etl backfill)`, or with the host `4242@db-1 (etl backfill)`. */
function describe(holder: Holder, withHost: boolean): string {
  const who = withHost ? `${holder.pid}@${holder.host}` : String(holder.pid)
  return holder.command ? `${who} (${holder.command})` : who
}

/** What this process is, for the lock file: `etl backfill` (global options left out), else the script's name. */
function commandName(): string {
  const script = path.basename(process.argv[1] ?? 'node')
  if (!/^etl(\.js)?$/.test(script)) return script
  const words = process.argv.slice(2)
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--lock-timeout') i++
    else if (!words[i]!.startsWith('-')) return `etl ${words[i]}`.slice(0, 60)
  }
  return 'etl'
}

function isDead(holder: Holder): boolean {
  // a holder on another host (a shared volume) cannot be checked; it is presumed alive
  if (holder.host !== os.hostname() || !Number.isInteger(holder.pid) || holder.pid <= 0) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** Removes a dead holder's file, unless someone else already replaced it with a live one. */
function takeOverStale(file: string, staleContent: string): void {
  const aside = `${file}.${process.pid}.stale`
  try {
    fs.renameSync(file, aside)
  } catch {
    return // another waiter moved it first
  }
  const moved = fs.readFileSync(aside, 'utf8')
  if (moved !== staleContent) {
    // we moved a fresh lock that another waiter had just created: put it back if nobody took the slot
    tryCreate(file, moved)
  }
  fs.rmSync(aside, { force: true })
}
