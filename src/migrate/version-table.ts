import { MigrationStateError } from '../errors/migration-error.js';
import type { MigrationSession } from './migration-types.js';

/** goose's default version table name. */
export const DEFAULT_VERSION_TABLE = 'goose_db_version';

/** An applied migration as the version table records it. */
export interface AppliedVersion {
  readonly version: number;
  /**
   * `tstamp` of the version's newest row, read as a time in the session's `TimeZone` (goose writes
   * it with `now()`, without a zone). `undefined` when it is NULL, which tables created by goose
   * before v3 allowed.
   */
  readonly appliedAt: Date | undefined;
}

/**
 * What the version table says, read under the migration lock.
 *
 * goose has kept two readings of this table, and v3.27 still ships both: the CLI's
 * (`EnsureDBVersion`, `status`, `reset`) honours `is_applied`, the newer `Provider` ignores it.
 * Rows with `is_applied = false` were written by goose before v3 for a rollback (it deletes the
 * version's rows now). The rules here are the CLI's for what is applied, so that such a table
 * continues correctly:
 *
 * - A version is applied when its newest row (highest `id`, goose's `ORDER BY id DESC`) says
 *   `is_applied = true`; a version whose newest row says `false` was rolled back and is pending
 *   again (the `Provider`, and the CLI's `up`, would count any row and never re-apply it).
 * - Version 0 is the table's initial row, never a migration.
 * - {@link VersionState.current} is the highest applied version, as the `Provider`'s
 *   `GetDBVersion` (`max(version_id)`); the CLI's `goose version` reports the most recently
 *   applied one instead, which is the same number unless migrations were applied out of order
 *   (`allowMissing`), where `max` is the one that decides what counts as missing, in both goose
 *   paths.
 * - {@link VersionState.newestFirst} orders the applied versions by when they were applied, most
 *   recent first: the order in which both goose paths roll back.
 */
export interface VersionState {
  /** Applied versions, by version. */
  readonly applied: ReadonlyMap<number, AppliedVersion>;
  /** Applied versions, most recently applied first (by `id` of their newest row). */
  readonly newestFirst: readonly number[];
  /** The highest applied version, 0 when none is. */
  readonly current: number;
}

/** A `Date` from epoch milliseconds in text (`undefined` for NULL or what is not a finite number). */
function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? new Date(Math.floor(ms)) : undefined;
}

/** The version table of one migrator: its name, and the statements that read and write it. */
export interface VersionTable {
  /** The name as given (`goose_db_version`, `migrations.goose_db_version`). */
  readonly name: string;
  /** The name as SQL: each part double-quoted. */
  readonly sql: string;
  /**
   * Creates the table, as goose does, when it does not exist (looked up with `to_regclass`, so an
   * unqualified name follows `search_path`), and inserts goose's initial row `(0, true)`, both in
   * one transaction. Returns whether it created it. The schema of a qualified name must exist.
   */
  ensure(session: MigrationSession): Promise<boolean>;
  /** Reads every row and applies the rules of {@link VersionState}. */
  read(session: MigrationSession): Promise<VersionState>;
  /** Records `version` as applied: inserts `(version, true)`. */
  recordUp(session: MigrationSession, version: number): Promise<void>;
  /** Records `version` as rolled back: deletes all its rows, as goose v3 does. */
  recordDown(session: MigrationSession, version: number): Promise<void>;
}

/** A plain identifier part: anything but empty, a `.` (the separator) or a NUL byte. */
function checkPart(part: string, name: string): void {
  if (part.length === 0 || part.includes('\0')) {
    throw new TypeError(`version table name ${JSON.stringify(name)} is not a table name or schema.table`);
  }
}

function quote(part: string): string {
  return `"${part.replace(/"/g, '""')}"`;
}

/**
 * Quotes a version table name: `table` or `schema.table` (split at the first `.`, as goose
 * splits it). Each part is double-quoted, so it is taken literally: give goose's names in lower
 * case (goose writes them unquoted, and PostgreSQL folds unquoted names to lower case).
 * Throws `TypeError` for an empty part or more than one `.`.
 */
export function quoteTableName(name: string): string {
  if (typeof name !== 'string') throw new TypeError('version table name must be a string');
  const parts = name.split('.');
  if (parts.length > 2) throw new TypeError(`version table name ${JSON.stringify(name)} is not a table name or schema.table`);
  for (const part of parts) checkPart(part, name);
  return parts.map(quote).join('.');
}

function versionOf(value: unknown, table: string): number {
  const version = Number(value);
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new MigrationStateError(`version table ${table} holds version_id ${String(value)}, which is not a version this migrator can handle`);
  }
  return version;
}

/** The version table named `name` (default {@link DEFAULT_VERSION_TABLE}). Throws `TypeError` for an invalid name. */
export function versionTable(name: string = DEFAULT_VERSION_TABLE): VersionTable {
  const table = quoteTableName(name);
  return Object.freeze({
    name,
    sql: table,
    async ensure(session: MigrationSession): Promise<boolean> {
      const found = await session.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
      if (found.rows[0]?.present === true) return false;
      await session.query('BEGIN');
      try {
        await session.query(
          `CREATE TABLE ${table} (
            id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
            version_id bigint NOT NULL,
            is_applied boolean NOT NULL,
            tstamp timestamp NOT NULL DEFAULT now()
          )`,
        );
        await session.query(`INSERT INTO ${table} (version_id, is_applied) VALUES ($1, $2)`, [0, true]);
        await session.query('COMMIT');
      } catch (error) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return true;
    },
    async read(session: MigrationSession): Promise<VersionState> {
      const result = await session.query(
        // the time as epoch milliseconds in text, so that no type parser the application set for timestamptz applies
        `SELECT version_id::text AS version_id, is_applied,
                (extract(epoch FROM tstamp AT TIME ZONE current_setting('TimeZone')) * 1000)::text AS applied_ms
           FROM ${table} ORDER BY id DESC`,
      );
      const seen = new Set<number>();
      const applied = new Map<number, AppliedVersion>();
      const newestFirst: number[] = [];
      for (const row of result.rows) {
        const version = versionOf(row.version_id, name);
        if (seen.has(version)) continue;
        seen.add(version);
        if (version === 0 || row.is_applied !== true) continue;
        applied.set(version, Object.freeze({ version, appliedAt: dateOf(row.applied_ms) }));
        newestFirst.push(version);
      }
      const current = newestFirst.reduce((highest, version) => Math.max(highest, version), 0);
      return Object.freeze({ applied, newestFirst: Object.freeze(newestFirst), current });
    },
    async recordUp(session: MigrationSession, version: number): Promise<void> {
      await session.query(`INSERT INTO ${table} (version_id, is_applied) VALUES ($1, $2)`, [version, true]);
    },
    async recordDown(session: MigrationSession, version: number): Promise<void> {
      await session.query(`DELETE FROM ${table} WHERE version_id = $1`, [version]);
    },
  });
}
