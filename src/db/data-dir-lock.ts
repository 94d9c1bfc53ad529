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
 * The lock is a file created with O_EXCL holding `pid@host`. A holder that died (kill -9, OOM)
 * cannot remove it, so a waiter on the same host that finds the pid gone takes it over.
 */
export interface DataDirLock {
  release(): void
}

const POLL_MS = 100

export async function lockDataDir(dataDir: string, timeoutMs: number): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true })
  const file = path.join(dataDir, 'nightshift.lock')
  const me = `${process.pid}@${os.hostname()}`
  const deadline = Date.now() + timeoutMs
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
        `the embedded database in ${dataDir} is in use by process ${holder?.raw ?? 'unknown'} and stayed locked for ${Math.round(
          timeoutMs / 1000,
        )}s; wait for it, raise --lock-timeout, or set WAREHOUSE_DATABASE_URL to use a server`,
      )
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

function readHolder(file: string): { pid: number; host: string; raw: string } | undefined {
  try {
    const raw = fs.readFileSync(file, 'utf8')
    const [pid, host] = raw.split('@')
    return { pid: Number(pid), host: host ?? '', raw }
  } catch {
    return undefined
  }
}

function isDead(holder: { pid: number; host: string }): boolean {
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
