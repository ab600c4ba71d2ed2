import { AlertHistoryDbError } from './alert-history-db-error.js';
import type { ErrorKind } from './error-kind.js';

/** Where in a migration source something is wrong. */
export interface MigrationLocation {
  /** File name (no directory), e.g. `00002_add_alerts.sql`; `undefined` for a directory-level problem. */
  readonly file?: string;
  /** 1-based line number, when the problem has one. */
  readonly line?: number;
}

/**
 * A migration source is invalid: a file name, an annotation, a statement, an `ENVSUB`
 * substitution, two files with one version, a directory that cannot be read. Nothing was run.
 * The message starts with `file:line: ` when both are known.
 */
export class MigrationSourceError extends AlertHistoryDbError {
  readonly kind: ErrorKind = 'migration';
  /** File name, when the problem is in one file. */
  readonly file: string | undefined;
  /** 1-based line, when known. */
  readonly line: number | undefined;

  constructor(reason: string, location: MigrationLocation = {}, options: { readonly cause?: unknown } = {}) {
    const where = location.file === undefined ? '' : location.line === undefined ? `${location.file}: ` : `${location.file}:${location.line}: `;
    super(`${where}${reason}`, { code: 'MIGRATION_SOURCE', retryable: false, cause: options.cause });
    this.file = location.file;
    this.line = location.line;
  }
}

/**
 * A migration failed on the server. Its transaction (if it had one) was rolled back, so the
 * database is at `version`, the last version that completed; nothing after it was run.
 * `cause` is the server's error (`pg.DatabaseError`).
 */
export class MigrationFailedError extends AlertHistoryDbError {
  readonly kind: ErrorKind = 'migration';
  /** The failing migration's version. */
  readonly failedVersion: number;
  /** The failing migration's file name. */
  readonly file: string;
  /** `up` or `down`. */
  readonly direction: 'up' | 'down';
  /** 1-based line of the statement that failed, when known. */
  readonly line: number | undefined;

  constructor(details: { readonly version: number; readonly file: string; readonly direction: 'up' | 'down'; readonly line?: number; readonly cause: unknown }) {
    const reason = details.cause instanceof Error ? details.cause.message : String(details.cause);
    const where = details.line === undefined ? details.file : `${details.file}:${details.line}`;
    super(`migration ${details.direction} failed: ${where}: ${reason}`, { code: 'MIGRATION_FAILED', retryable: false, cause: details.cause });
    this.failedVersion = details.version;
    this.file = details.file;
    this.direction = details.direction;
    this.line = details.line;
  }
}

/**
 * The database has versions applied that are newer than migration files not applied yet
 * (out-of-order, "missing" migrations, as goose calls them). Allow them with `allowMissing`.
 */
export class MissingMigrationsError extends AlertHistoryDbError {
  readonly kind: ErrorKind = 'migration';
  /** The versions (and files) not applied, oldest first. */
  readonly missing: readonly {
    /** The migration's version. */
    readonly version: number;
    /** The migration's file name. */
    readonly file: string;
  }[];

  constructor(missing: readonly { readonly version: number; readonly file: string }[], newestApplied: number) {
    const list = missing.map((m) => m.file).join(', ');
    super(
      `found ${missing.length} missing (out-of-order) migration(s) older than the current version ${newestApplied}: ${list}; apply them with allowMissing (--allow-missing)`,
      { code: 'MIGRATION_MISSING', retryable: false },
    );
    this.missing = Object.freeze(missing.map((m) => Object.freeze({ ...m })));
  }
}

/** The requested operation does not make sense for the database's state (e.g. `down` at version 0, `up-to` an unknown version). */
export class MigrationStateError extends AlertHistoryDbError {
  readonly kind: ErrorKind = 'migration';

  constructor(reason: string) {
    super(reason, { code: 'MIGRATION_STATE', retryable: false });
  }
}

/**
 * The migration lock (the session advisory lock goose also takes, key `lockId`) was not obtained
 * within `timeoutMs`: another migration run, by this library or by goose, holds it. Nothing was
 * run. Retryable: once the other run ends (or its session is closed) the lock is free again.
 */
export class MigrationLockError extends AlertHistoryDbError {
  readonly kind: ErrorKind = 'migration';
  /** The advisory lock key (goose's `4097083626`). */
  readonly lockId: bigint;
  /** How long the runner waited, in milliseconds. */
  readonly timeoutMs: number;
  /** The backend pid holding the lock when the wait ended, when it could be read. */
  readonly holderPid: number | undefined;

  constructor(details: { readonly lockId: bigint; readonly timeoutMs: number; readonly holderPid?: number; readonly cause?: unknown }) {
    const holder = details.holderPid === undefined ? 'another migration holds it' : `another migration holds it (backend pid ${details.holderPid})`;
    const low = details.lockId & 0xffffffffn;
    const high = details.lockId >> 32n;
    super(
      `could not obtain the migration lock (advisory lock ${details.lockId}) within ${details.timeoutMs} ms: ${holder}. ` +
        `Find the holder with: SELECT l.pid, l.granted, a.application_name, a.state, a.query_start FROM pg_locks l ` +
        `JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.classid = ${high} AND l.objid = ${low} AND l.objsubid = 1; ` +
        `wait for it to finish, or end a stuck one with pg_terminate_backend(pid)`,
      { code: 'MIGRATION_LOCK', retryable: true, cause: details.cause },
    );
    this.lockId = details.lockId;
    this.timeoutMs = details.timeoutMs;
    this.holderPid = details.holderPid;
  }
}
