import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/**
 * A real PgBouncer (Debian's `pgbouncer`) in front of the test server, started per test file on a
 * free port, `pool_mode = transaction`, trust auth: what most production PostgreSQL sits behind.
 * `available()` is false where the binary is missing; tests then skip and say so.
 */
export const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => fs.existsSync(p))

export interface Bouncer {
  /** `serverUrl` with host and port replaced by the bouncer's. */
  url(serverUrl: string): string
  readonly port: number
  stop(): Promise<void>
}

export interface BouncerOptions {
  /** Startup parameters PgBouncer drops silently instead of refusing (`options` is the dangerous one). */
  ignoreStartupParameters?: string[]
  /** Server connections per (database, user); small pools make connection reuse certain. */
  poolSize?: number
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export async function startPgBouncer(serverUrl: string, options: BouncerOptions = {}): Promise<Bouncer> {
  if (!PGBOUNCER) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer)')
  const server = new URL(serverUrl)
  const user = decodeURIComponent(server.username || 'postgres')
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-pgbouncer-'))
  const ini = [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    "unix_socket_dir = ''",
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'users.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 4}`,
    'max_client_conn = 200',
    'server_reset_query =',
    `ignore_startup_parameters = ${(options.ignoreStartupParameters ?? ['extra_float_digits']).join(',')}`,
    `logfile = ${path.join(dir, 'pgbouncer.log')}`,
    `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
  ].join('\n')
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), ini + '\n')
  fs.writeFileSync(path.join(dir, 'users.txt'), `"${user}" ""\n`)
  // PgBouncer refuses to run as root; as root it is started as the postgres user
  const asRoot = process.getuid?.() === 0
  if (asRoot) spawnSync('chown', ['-R', 'postgres', dir])
  const args = [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')]
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  await waitForPort(port, child, () => `${stderr}${readLog(dir)}`)
  return {
    port,
    url(target: string) {
      const u = new URL(target)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8')
  } catch {
    return ''
  }
}

async function waitForPort(port: number, child: ChildProcess, why: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited ${child.exitCode}: ${why()}`)
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`pgbouncer did not listen on ${port} within 10 s: ${why()}`)
}
