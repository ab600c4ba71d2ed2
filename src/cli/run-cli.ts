/**
 * The `alert-history-db` command line: `alert-history-db <command> …`. Today one command,
 * `migrate` (goose's commands, docs/migrations.md). `main.ts` runs it on the process.
 */
import { EXIT_OK, EXIT_USAGE, runMigrateCommand, type CommandIo } from '../migrate/migrate-command.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CommandIo } from '../migrate/migrate-command.js';

/** The usage text of `alert-history-db`. */
export const CLI_USAGE = `Usage: alert-history-db <command> [arguments]

Commands:
    migrate      Apply, roll back and inspect goose migrations (alert-history-db migrate --help)

Options:
    -h, --help   Show this help
`;

/**
 * Runs the command line `argv` (the arguments after the program, `process.argv.slice(2)`) with
 * `io`'s streams and environment, and resolves with the exit status: 0 success, 1 failure, 2
 * invalid command line. Never rejects and never exits the process, so tests can run it in-process.
 */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout.write(CLI_USAGE);
    return EXIT_OK;
  }
  if (command === 'migrate') return runMigrateCommand(rest, io);
  const reason = command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`;
  io.stderr.write(`alert-history-db: ${reason}\n\n${CLI_USAGE}`);
  return EXIT_USAGE;
}
