import { CommanderError } from 'commander'
import { EtlError, exitCodeOf } from '../errors.js'
import { redact } from '../redact.js'
import { buildProgram } from './program.js'

/**
 * The CLI's one place for errors: every failure becomes one line on stderr and an exit code
 * (SPEC section 3); a stack trace only with ETL_DEBUG.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return Number(process.exitCode ?? 0)
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version end here too, with exit code 0; commander already printed the message
      return error.exitCode === 0 ? 0 : 2
    }
    // loaded here, not at start-up: config.ts brings zod, kysely and luxon, which --help does without
    const debug = (await import('../config.js')).debugFromEnv()
    const message = error instanceof Error ? error.message : String(error)
    const hint = error instanceof EtlError || debug ? '' : ' (ETL_DEBUG=1 shows the stack trace)'
    process.stderr.write(`etl: ${redact(message)}${hint}\n`)
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${redact(error.stack)}\n`)
    return exitCodeOf(error)
  }
}

/**
 * The CLI's entry: bin/etl.js runs the bundle (dist/cli.cjs) and calls this, then exits the
 * process with the code, since pools, PGlite and timers must not keep a cron job alive after its
 * work is done.
 */
export function run(argv: string[]): Promise<number> {
  // zod compiles a parser with `new Function` for each object schema on its first parse, which
  // pays off over many parses, not for the config and a job file or two a command parses once
  // (about 10 ms of a no-op); set before the first schema is made, as zod reads it then. The
  // global is zod's own, shared by its copies (scripts/build.mjs checks the bundle still reads it).
  const global = globalThis as { __zod_globalConfig?: { jitless?: boolean } }
  global.__zod_globalConfig = { ...global.__zod_globalConfig, jitless: true }
  return main(argv)
}
