import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MigrationFailedError, MigrationStateError, MissingMigrationsError } from '../errors/migration-error.js';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { componentLogger } from '../observability/logger-factory.js';
import { DEFAULT_LOCK_RETRY_MS, DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from './migration-lock.js';
import { loadMigrations } from './migration-files.js';
import { withMigrationSession, type MigrationTarget } from './migration-session.js';
import type { AppliedMigration, Migration, MigrationRunResult, MigrationSession, MigrationStatusEntry } from './migration-types.js';
import { DEFAULT_VERSION_TABLE, versionTable, type VersionState, type VersionTable } from './version-table.js';

/** Default {@link MigratorOptions.dir}, resolved against `process.cwd()`. */
export const DEFAULT_MIGRATIONS_DIR = './migrations';

/** Options of {@link createMigrator}. */
export interface MigratorOptions {
  /** Directory of the `.sql` migration files. Default `./migrations`, resolved against `process.cwd()` when the migrator is created. */
  readonly dir?: string;
  /** Version table, `table` or `schema.table` (the schema must exist). Default `goose_db_version`. */
  readonly table?: string;
  /**
   * Apply missing (out-of-order) migrations: files older than the highest applied version that were
   * never applied. Without it they stop `up`, `up-by-one` and `up-to` with `MissingMigrationsError`
   * before anything runs. Default `false`, as goose.
   */
  readonly allowMissing?: boolean;
  /**
   * Environment for `-- +goose ENVSUB ON` substitutions, and for `loadConfig` when the target is a
   * URL or configuration input. Default `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Longest wait for the migration lock, in ms (0: do not wait). Default 5 min, as goose. */
  readonly lockTimeoutMs?: number;
  /** While waiting for the lock, how often the runner reports who holds it, in ms (it tries the lock again every 200 ms at most). Default 5 s, goose's interval. */
  readonly lockRetryMs?: number;
  /** Where progress (`migration applied`), lock waits and session errors are logged (component `migrate`). Default: silent. */
  readonly logger?: Logger;
  /**
   * Called as each migration completes (committed, version table included), e.g. to print goose's
   * `OK   00002_x.sql (12ms)`. What it throws is logged and ignored.
   */
  readonly onMigration?: (migration: AppliedMigration) => void;
}

/**
 * goose's commands on one database. Every operation opens its own session, takes goose's advisory
 * lock on it (waiting for another runner, goose's included), creates the version table if it is
 * missing, does its work and releases both. Files are read and parsed before the session is opened:
 * an invalid file (`MigrationSourceError`) runs nothing.
 *
 * Each migration runs in a transaction of its own, its version-table change included, unless the
 * file says `-- +goose NO TRANSACTION`: then its statements run one by one in autocommit, and the
 * version row is written after the last one (a failure leaves the statements before it done and
 * the version unrecorded, as in goose). A failure rolls back that migration's transaction, stops the
 * run (the migrations before it stay applied) and throws `MigrationFailedError`.
 *
 * Rolling back a file without a `-- +goose Down` section runs nothing and deletes its version row,
 * as goose does (reported with `empty: true`). Which versions are applied, and the current version,
 * follow the rules of `VersionState` (version-table.ts), which read old goose rows
 * `(version, false)` as rolled back.
 */
export interface Migrator {
  /** The absolute directory the files are read from. */
  readonly dir: string;
  /** Applies every pending migration, oldest first (missing ones first, with `allowMissing`). Nothing pending: an empty result. */
  up(): Promise<MigrationRunResult>;
  /** Applies the next pending migration. @throws {MigrationStateError} when none is pending. */
  upByOne(): Promise<MigrationRunResult>;
  /**
   * Applies the pending migrations up to `version` inclusive (a version of a file). Missing
   * migrations count only up to `version`, as in goose. @throws {MigrationStateError} when no file
   * has that version; `TypeError` when it is not a positive integer.
   */
  upTo(version: number): Promise<MigrationRunResult>;
  /** Rolls back the most recently applied migration. @throws {MigrationStateError} at version 0. */
  down(): Promise<MigrationRunResult>;
  /**
   * Rolls back every applied version above `version`, most recently applied first (`0`: all of
   * them). goose stops at the first applied version ≤ `version` in that order, which differs only
   * after out-of-order applications; here every version above it is rolled back. @throws
   * `TypeError` when `version` is not an integer ≥ 0.
   */
  downTo(version: number): Promise<MigrationRunResult>;
  /** Rolls back the most recently applied migration and applies it again. @throws {MigrationStateError} at version 0. */
  redo(): Promise<MigrationRunResult>;
  /** Rolls back every applied migration, most recently applied first. */
  reset(): Promise<MigrationRunResult>;
  /** Every file and every applied version without a file, by version. */
  status(): Promise<readonly MigrationStatusEntry[]>;
  /** The highest applied version (0 when none is). Reads no file. */
  version(): Promise<number>;
}

/** One migration to run in one direction. */
interface Step {
  readonly migration: Migration;
  readonly direction: 'up' | 'down';
}

function checkNonNegativeInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be an integer ≥ 0`);
  return value;
}

/** The migrations not applied, up to `target`, oldest first; throws `MissingMigrationsError` for missing ones unless allowed. */
function pendingUp(files: readonly Migration[], state: VersionState, target: number, allowMissing: boolean): Migration[] {
  const pending = files.filter((m) => !state.applied.has(m.version) && m.version <= target);
  const missing = pending.filter((m) => m.version < state.current);
  if (missing.length > 0 && !allowMissing) {
    throw new MissingMigrationsError(
      missing.map((m) => ({ version: m.version, file: m.fileName })),
      state.current,
    );
  }
  return pending;
}

/** The files of applied `versions`, in that order; throws `MigrationStateError` before anything runs when one is gone. */
function filesOf(versions: readonly number[], files: readonly Migration[], dir: string): Migration[] {
  const byVersion = new Map(files.map((m) => [m.version, m]));
  return versions.map((version) => {
    const migration = byVersion.get(version);
    if (migration === undefined) {
      throw new MigrationStateError(`version ${version} is applied, but no migration file in ${dir} has that version: it cannot be rolled back`);
    }
    return migration;
  });
}

/**
 * A migrator for `target` (see `MigrationTarget`). Nothing is opened until an operation is called.
 * Throws `TypeError` for invalid options (a version table name with an empty part, a negative
 * timeout…).
 */
export function createMigrator(target: MigrationTarget, options: MigratorOptions = {}): Migrator {
  const dir = resolve(process.cwd(), options.dir ?? DEFAULT_MIGRATIONS_DIR);
  const table: VersionTable = versionTable(options.table ?? DEFAULT_VERSION_TABLE);
  const allowMissing = options.allowMissing === true;
  const env = options.env ?? process.env;
  const lockTimeoutMs = checkNonNegativeInteger(options.lockTimeoutMs, 'lockTimeoutMs') ?? DEFAULT_LOCK_TIMEOUT_MS;
  const lockRetryMs = checkNonNegativeInteger(options.lockRetryMs, 'lockRetryMs') ?? DEFAULT_LOCK_RETRY_MS;
  if (lockRetryMs === 0) throw new TypeError('lockRetryMs must be an integer > 0');
  const logger = componentLogger(options.logger ?? silentLogger, 'migrate');
  const onMigration = options.onMigration;
  if (onMigration !== undefined && typeof onMigration !== 'function') throw new TypeError('onMigration must be a function');

  const load = (): Promise<Migration[]> => loadMigrations(dir, { env });

  /** Runs `work` on a fresh session, under the lock, after making sure the version table exists. */
  const locked = <T>(work: (session: MigrationSession) => Promise<T>): Promise<T> =>
    withMigrationSession(
      target,
      ({ client }) =>
        withMigrationLock(
          client,
          async () => {
            if (await table.ensure(client)) logger.info('created the version table', { table: table.name });
            return work(client);
          },
          { timeoutMs: lockTimeoutMs, retryMs: lockRetryMs, logger },
        ),
      { env, logger },
    );

  const report = (applied: AppliedMigration): void => {
    logger.info('migration applied', { ...applied });
    if (onMigration === undefined) return;
    try {
      onMigration(applied);
    } catch (error) {
      logger.warn('onMigration threw; ignored', describeError(error));
    }
  };

  /** Runs one migration in one direction; throws `MigrationFailedError`. */
  const runStep = async (session: MigrationSession, { migration, direction }: Step): Promise<AppliedMigration> => {
    const statements = direction === 'up' ? migration.up : migration.down;
    const started = performance.now();
    let line: number | undefined;
    const body = async (): Promise<void> => {
      for (const statement of statements) {
        line = statement.line;
        await session.query(statement.sql);
      }
      line = undefined;
      if (direction === 'up') await table.recordUp(session, migration.version);
      else await table.recordDown(session, migration.version);
    };
    try {
      if (migration.useTransaction) {
        await session.query('BEGIN');
        try {
          await body();
          await session.query('COMMIT');
        } catch (error) {
          await session.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      } else {
        await body();
      }
    } catch (cause) {
      throw new MigrationFailedError({ version: migration.version, file: migration.fileName, direction, ...(line === undefined ? {} : { line }), cause });
    }
    return Object.freeze({
      version: migration.version,
      fileName: migration.fileName,
      direction,
      durationMs: performance.now() - started,
      empty: statements.length === 0,
    });
  };

  /** Runs `steps` in order under the lock already held, then reads the version reached. */
  const run = async (session: MigrationSession, steps: readonly Step[]): Promise<MigrationRunResult> => {
    const applied: AppliedMigration[] = [];
    for (const step of steps) {
      const done = await runStep(session, step);
      applied.push(done);
      report(done);
    }
    const { current } = await table.read(session);
    logger.info(applied.length === 0 ? 'no migrations to run' : 'migrated database', { version: current, count: applied.length });
    return Object.freeze({ applied: Object.freeze(applied), version: current });
  };

  /** Loads the files, then under the lock plans the steps from the table's state and runs them. */
  const operation = async (plan: (files: readonly Migration[], state: VersionState) => readonly Step[]): Promise<MigrationRunResult> => {
    const files = await load();
    return locked(async (session) => run(session, plan(files, await table.read(session))));
  };

  const up = (migrations: readonly Migration[]): Step[] => migrations.map((migration) => ({ migration, direction: 'up' }));
  const down = (migrations: readonly Migration[]): Step[] => migrations.map((migration) => ({ migration, direction: 'down' }));

  /** The most recently applied version; `MigrationStateError` at version 0. */
  const newest = (state: VersionState, what: string): number => {
    const version = state.newestFirst[0];
    if (version === undefined) throw new MigrationStateError(`cannot ${what}: no migration is applied (version 0)`);
    return version;
  };

  return Object.freeze({
    dir,
    up: () => operation((files, state) => up(pendingUp(files, state, Number.POSITIVE_INFINITY, allowMissing))),
    upByOne: () =>
      operation((files, state) => {
        const next = pendingUp(files, state, Number.POSITIVE_INFINITY, allowMissing)[0];
        if (next === undefined) throw new MigrationStateError(`no next version: every migration is applied (current version ${state.current})`);
        return up([next]);
      }),
    upTo: async (version: number) => {
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new TypeError('up-to version must be an integer ≥ 1');
      return operation((files, state) => {
        if (!files.some((m) => m.version === version)) throw new MigrationStateError(`cannot migrate up to ${version}: no migration file in ${dir} has that version`);
        return up(pendingUp(files, state, version, allowMissing));
      });
    },
    down: () => operation((files, state) => down(filesOf([newest(state, 'roll back')], files, dir))),
    downTo: async (version: number) => {
      if (checkNonNegativeInteger(version, 'down-to version') === undefined) throw new TypeError('down-to version must be an integer ≥ 0');
      return operation((files, state) => down(filesOf(state.newestFirst.filter((v) => v > version), files, dir)));
    },
    redo: () =>
      operation((files, state) => {
        const [migration] = filesOf([newest(state, 'redo')], files, dir);
        return migration === undefined ? [] : [...down([migration]), ...up([migration])];
      }),
    reset: () => operation((files, state) => down(filesOf(state.newestFirst, files, dir))),
    status: async () => {
      const files = await load();
      const state = await locked((session) => table.read(session));
      const entries = new Map<number, MigrationStatusEntry>();
      for (const m of files) {
        const applied = state.applied.get(m.version);
        entries.set(m.version, Object.freeze({ version: m.version, fileName: m.fileName, appliedAt: applied?.appliedAt, state: applied === undefined ? 'pending' : 'applied' }));
      }
      for (const applied of state.applied.values()) {
        if (!entries.has(applied.version)) {
          entries.set(applied.version, Object.freeze({ version: applied.version, fileName: undefined, appliedAt: applied.appliedAt, state: 'applied' }));
        }
      }
      return Object.freeze([...entries.values()].sort((a, b) => a.version - b.version));
    },
    version: () => locked(async (session) => (await table.read(session)).current),
  });
}
