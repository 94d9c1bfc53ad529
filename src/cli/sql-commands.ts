import type { Command } from 'commander'
import { LEDGER_TABLE } from '../engine/ledger/table.js'

const actions = () => import('./actions/sql.js')

export function registerSqlCommands(program: Command): void {
  program
    .command('sql')
    .description('read-only SQL on the warehouse (embedded or a server), in a read-only transaction; reads the statement from stdin without an argument')
    .argument('[statement]', `one SQL statement, such as "select job_name, status from ${LEDGER_TABLE}"`)
    .option('--json', 'print an array of row objects')
    .action(async (statement: string | undefined, options: { json?: boolean }, command: Command) => (await actions()).runSql(statement, options, command))
}
