import fs from 'node:fs'
import path from 'node:path'
import { Command, Option } from 'commander'
import { KIND_COMMANDS } from '../kinds/commands.js'
import { LEDGER_TABLE } from '../engine/ledger/table.js'
import { packageRoot } from '../paths.js'
import { registerAdminCommands } from './admin-commands.js'
import { registerCheckCommands } from './check-commands.js'
import { positiveInt } from './options.js'
import { registerLedgerCommands } from './ledger-commands.js'
import { registerOpsCommands } from './ops-commands.js'
import { registerRunCommands } from './run-commands.js'
import { registerSqlCommands } from './sql-commands.js'
import { registerStorageCommands } from '../storage/commands.js'
import { registerCitusCommands } from '../storage/citus/commands.js'

/** The `etl` program: flags become options objects and the same functions a library user calls. */
export function buildProgram(): Command {
  const program = new Command('etl')
    .description(`nightshift: cron-friendly batch ETL into a PostgreSQL warehouse. Every run is recorded in ${LEDGER_TABLE}.`)
    .addOption(
      new Option('--lock-timeout <seconds>', 'how long to wait for the embedded database when another etl process holds it')
        .argParser(positiveInt('--lock-timeout', 86_400))
        .env('ETL_LOCK_TIMEOUT'),
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // one line, in our voice: "etl: unknown option '--frobnicate'"
      outputError: (text, write) => write(`etl: ${text.replace(/^error: /, '').trim()}\n`),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 all SUCCESS or SKIPPED, 1 a job FAILED or PARTIAL, 2 bad usage or input, 3 environment (database, migrations, configuration).',
    )
  registerRunCommands(program)
  // each kind's own commands, from the kinds table
  for (const register of Object.values(KIND_COMMANDS)) register(program)
  registerLedgerCommands(program)
  registerCheckCommands(program)
  registerAdminCommands(program)
  registerOpsCommands(program)
  registerSqlCommands(program)
  registerStorageCommands(program)
  registerCitusCommands(program)
  return program
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version
}
