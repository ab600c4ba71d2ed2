/**
 * `alert-history-db migrate <command>`: goose's commands over this package's runner, with goose's
 * output. Exit status: 0 done, 1 the command failed (one line on stderr), 2 the command line is
 * wrong (the reason and the usage on stderr). See docs/migrations.md.
 */
import { relative, resolve, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import type { ConfigWarning } from '../config/load-config.js';
import type { PostgresConfig } from '../config/postgres-config.js';
import { ConfigError } from '../errors/config-error.js';
import type { Logger } from '../observability/logger.js';
import { commandTarget } from './migrate-command-target.js';
import {
  formatApplied,
  formatRunSummary,
  formatStatus,
  formatValidation,
  formatVersion,
  type OutputStream,
} from './migrate-command-output.js';
import { createMigrationFile, fixMigrationFiles, loadMigrations } from './migration-files.js';
import type { MigrationRunResult } from './migration-types.js';
import { createMigrator, DEFAULT_MIGRATIONS_DIR, type Migrator } from './migrator.js';

/** What a command reads and writes: the process's streams and environment, or a test's. */
export interface CommandIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Environment: connection settings, `GOOSE_*` defaults, `ENVSUB` values. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths (`--dir`) are resolved against. Default `process.cwd()`. */
  readonly cwd?: string;
}

/** Exit status: success. */
export const EXIT_OK = 0;
/** Exit status: the command failed (database, files, configuration). */
export const EXIT_FAILURE = 1;
/** Exit status: the command line is wrong (unknown command or option, missing or extra argument). */
export const EXIT_USAGE = 2;

/** The usage text of `alert-history-db migrate`. */
export const MIGRATE_USAGE = `Usage: alert-history-db migrate [options] <command>

Commands:
    up                   Migrate the database to the most recent version available
    up-by-one            Migrate the database up by 1
    up-to VERSION        Migrate the database to a specific VERSION
    down                 Roll back the version by 1
    down-to VERSION      Roll back to a specific VERSION (0: all)
    redo                 Roll back the latest migration and apply it again
    reset                Roll back all migrations
    status               Show the status of every migration
    version              Print the current version of the database
    create NAME [sql]    Create a new migration file (timestamp version, or --sequential)
    fix                  Rename timestamp versions to sequential ones
    validate             Check the migration files without running them

Options:
    --dir DIR            Directory of the migration files (default: $GOOSE_MIGRATION_DIR or ./migrations)
    --table NAME         Version table, table or schema.table (default: $GOOSE_TABLE or goose_db_version)
    --allow-missing      Apply missing (out-of-order) migrations
    --sequential         create: number the file sequentially instead of with a timestamp
    -h, --help           Show this help

Connection: DATABASE_URL, else GOOSE_DBSTRING (URL or key=value settings), else the PG* and DB_*
variables (docs/configuration.md). create, fix and validate need no database.
Exit status: 0 success, 1 failure, 2 invalid command line.
`;

/** Commands and the arguments they take. */
const COMMANDS = {
  up: 'none',
  'up-by-one': 'none',
  'up-to': 'version',
  down: 'none',
  'down-to': 'version',
  redo: 'none',
  reset: 'none',
  status: 'none',
  version: 'none',
  create: 'name',
  fix: 'none',
  validate: 'none',
} as const;

type CommandName = keyof typeof COMMANDS;

/** A parsed command line. */
interface Invocation {
  readonly command: CommandName;
  /** The version of `up-to`/`down-to`. */
  readonly version: number;
  /** The name of `create`. */
  readonly name: string;
  readonly dir: string;
  readonly table: string | undefined;
  readonly allowMissing: boolean;
  readonly sequential: boolean;
}

/** A command line that cannot be run: its reason goes to stderr, with the usage. */
class UsageError extends Error {}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function parseVersion(command: string, text: string | undefined): number {
  if (text === undefined) throw new UsageError(`${command} needs a VERSION`);
  const minimum = command === 'up-to' ? 1 : 0;
  const version = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(version) || version < minimum) {
    throw new UsageError(`${command}: VERSION must be an integer ≥ ${minimum}, not ${JSON.stringify(text)}`);
  }
  return version;
}

/** Reads the command line (options may come before or after the command). */
function parseInvocation(args: readonly string[], io: CommandIo): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        dir: { type: 'string' },
        table: { type: 'string' },
        'allow-missing': { type: 'boolean' },
        sequential: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // node's messages go on to explain "--" for positionals; the first sentence is the reason
    const message = error instanceof Error ? error.message.split(/\.\s/)[0] ?? error.message : String(error);
    throw new UsageError(message.replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('no command given');
  if (!isCommand(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const kind = COMMANDS[command];
  let version = 0;
  let name = '';
  if (kind === 'version') {
    version = parseVersion(command, rest[0]);
    if (rest.length > 1) throw new UsageError(`${command} takes one VERSION, got ${rest.length} arguments`);
  } else if (kind === 'name') {
    if (rest[0] === undefined || rest[0] === '') throw new UsageError('create needs a NAME');
    name = rest[0];
    const type = rest[1];
    if (type !== undefined && type !== 'sql') throw new UsageError(`create: only sql migrations are supported, not ${JSON.stringify(type)}`);
    if (rest.length > 2) throw new UsageError(`create takes NAME [sql], got ${rest.length} arguments`);
  } else if (rest.length > 0) {
    throw new UsageError(`${command} takes no argument, got ${JSON.stringify(rest.join(' '))}`);
  }
  const cwd = io.cwd ?? process.cwd();
  const dir = resolve(cwd, nonEmpty(values.dir) ?? nonEmpty(io.env.GOOSE_MIGRATION_DIR) ?? DEFAULT_MIGRATIONS_DIR);
  if (values.table === '') throw new UsageError('--table must not be empty');
  return {
    command,
    version,
    name,
    dir,
    table: values.table ?? nonEmpty(io.env.GOOSE_TABLE),
    allowMissing: values['allow-missing'] === true,
    sequential: values.sequential === true,
  };
}

/** A path for display: relative to `cwd` when inside it, else absolute. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Commands that need no database. */
async function runFileCommand(invocation: Invocation, io: CommandIo): Promise<void> {
  const cwd = io.cwd ?? process.cwd();
  switch (invocation.command) {
    case 'create': {
      const path = await createMigrationFile(invocation.dir, invocation.name, { sequential: invocation.sequential });
      io.stdout.write(`Created new file: ${displayPath(path, cwd)}\n`);
      return;
    }
    case 'fix': {
      const renames = await fixMigrationFiles(invocation.dir);
      for (const { from, to } of renames) io.stdout.write(`RENAMED ${from} => ${to}\n`);
      if (renames.length === 0) io.stdout.write('goose: no timestamp-versioned migration to rename\n');
      return;
    }
    default: {
      const migrations = await loadMigrations(invocation.dir, { env: io.env });
      io.stdout.write(formatValidation(migrations));
    }
  }
}

/**
 * What of the runner's log reaches stderr: only the wait for the migration lock (another run holds
 * it; the runner waits up to 5 minutes), as one line each time it is reported. Progress is printed
 * as goose prints it instead, and a failure is the one line the command ends with.
 */
function lockWaitReporter(stderr: OutputStream): Logger {
  const info = (message: string, meta?: Record<string, unknown>): void => {
    if (!message.startsWith('waiting for the migration lock')) return;
    const pid = meta?.holderPid;
    stderr.write(`alert-history-db migrate: ${message}${typeof pid === 'number' ? ` (backend pid ${pid})` : ''}\n`);
  };
  const ignore = (): void => undefined;
  return { error: ignore, warn: ignore, info, debug: ignore };
}

/** Commands that work on the database. */
async function runDatabaseCommand(invocation: Invocation, io: CommandIo, target: PostgresConfig): Promise<void> {
  const migrator: Migrator = createMigrator(target, {
    dir: invocation.dir,
    ...(invocation.table === undefined ? {} : { table: invocation.table }),
    allowMissing: invocation.allowMissing,
    env: io.env,
    logger: lockWaitReporter(io.stderr),
    onMigration: (applied) => void io.stdout.write(formatApplied(applied)),
  });
  const finish = (result: MigrationRunResult): void => void io.stdout.write(formatRunSummary(result.applied.length, result.version));
  switch (invocation.command) {
    case 'up':
      return finish(await migrator.up());
    case 'up-by-one':
      return finish(await migrator.upByOne());
    case 'up-to':
      return finish(await migrator.upTo(invocation.version));
    case 'down':
      return finish(await migrator.down());
    case 'down-to':
      return finish(await migrator.downTo(invocation.version));
    case 'redo':
      return finish(await migrator.redo());
    case 'reset':
      return finish(await migrator.reset());
    case 'status':
      io.stdout.write(formatStatus(await migrator.status()));
      return;
    default:
      io.stdout.write(formatVersion(await migrator.version()));
  }
}

/** The secrets that must never be printed: the password in use, and the inputs that may hold one. */
function secretsOf(io: CommandIo, target: PostgresConfig | undefined): string[] {
  const candidates = [target?.password, io.env.PGPASSWORD, io.env.DB_PASSWORD, io.env.DATABASE_URL, io.env.GOOSE_DBSTRING];
  return candidates.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length);
}

/** A five-character SQLSTATE carried by `error` (pg's `DatabaseError`), if any. */
function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(?=.*[0-9])[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The error's text on one line: configuration problems joined, nested causes of aggregate errors named. */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) {
    const problems = error.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return `invalid PostgreSQL configuration: ${problems}`;
  }
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map((inner) => describeFailure(inner)).join('; ');
  }
  if (error instanceof Error) {
    const text = error.message === '' ? error.name : error.message;
    // the server's SQLSTATE, of the error or of the server error it wraps (MigrationFailedError)
    const code = sqlState(error) ?? sqlState(error.cause);
    const withCode = code !== undefined && !text.includes(code) ? `${text} (SQLSTATE ${code})` : text;
    return withCode.replace(/\s*\n\s*/g, ' ');
  }
  return String(error).replace(/\s*\n\s*/g, ' ');
}

function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}

/**
 * Runs `alert-history-db migrate` with `args` (what follows `migrate` on the command line) and
 * resolves with the exit status: {@link EXIT_OK}, {@link EXIT_FAILURE} (one line
 * `alert-history-db migrate: <reason>` on stderr, never a stack or a password) or
 * {@link EXIT_USAGE}. Never rejects.
 */
export async function runMigrateCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let invocation: Invocation | 'help';
  try {
    invocation = parseInvocation(args, io);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    io.stderr.write(`alert-history-db migrate: ${reason}\n\n${MIGRATE_USAGE}`);
    return EXIT_USAGE;
  }
  if (invocation === 'help') {
    io.stdout.write(MIGRATE_USAGE);
    return EXIT_OK;
  }
  let target: PostgresConfig | undefined;
  try {
    if (invocation.command === 'create' || invocation.command === 'fix' || invocation.command === 'validate') {
      await runFileCommand(invocation, io);
    } else {
      const warn = (warning: ConfigWarning): void => void io.stderr.write(`alert-history-db migrate: warning: ${warning.field} ${warning.message}\n`);
      target = commandTarget(io.env, warn);
      await runDatabaseCommand(invocation, io, target);
    }
    return EXIT_OK;
  } catch (error) {
    io.stderr.write(`alert-history-db migrate: ${scrub(describeFailure(error), secretsOf(io, target))}\n`);
    return EXIT_FAILURE;
  }
}
