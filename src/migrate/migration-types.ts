/**
 * Shared shapes of the goose-compatible migrations: what the parser produces, what the migrator
 * runs and reports. Behaviour is goose v3's (docs/migrations.md).
 */

/** One statement of a migration section, as sent to the server. */
export interface MigrationStatement {
  /** The SQL text (several SQL statements when it came from a `StatementBegin`/`StatementEnd` block). */
  readonly sql: string;
  /** 1-based line of the file where the statement starts (after `ENVSUB` the line of the original). */
  readonly line: number;
}

/** A parsed migration file. */
export interface ParsedMigration {
  /** Statements of the `-- +goose Up` section, in order (may be empty). */
  readonly up: readonly MigrationStatement[];
  /** Statements of the `-- +goose Down` section, in order (empty when there is none). */
  readonly down: readonly MigrationStatement[];
  /** Whether the file has a `-- +goose Down` annotation. */
  readonly hasDown: boolean;
  /** `false` when the file says `-- +goose NO TRANSACTION`. */
  readonly useTransaction: boolean;
}

/** A migration file found in the migrations directory (not read yet). */
export interface MigrationFile {
  /** The integer before the first `_` (sequential `00001` or timestamp `20240101120000`), ≥ 1. */
  readonly version: number;
  /** The file name, e.g. `00002_add_alerts.sql`. */
  readonly fileName: string;
  /** Absolute path. */
  readonly path: string;
}

/** A migration file, read and parsed. */
export interface Migration extends MigrationFile, ParsedMigration {}

/**
 * One database session the migrator works on (a `pg.Client` satisfies it). Statements without
 * values must go through the simple query protocol (several statements in one text).
 */
export interface MigrationSession {
  /** Runs `text`, with `values` bound to `$1`, `$2`… when given. */
  query(
    text: string,
    values?: unknown[],
  ): Promise<{
    /** The rows returned, columns by name. */
    readonly rows: Record<string, unknown>[];
    /** Rows returned or affected; `null` when the server reports no count. */
    readonly rowCount: number | null;
  }>;
}

/** A migration the migrator has run (reported as it completes). */
export interface AppliedMigration {
  /** The migration's version. */
  readonly version: number;
  /** The migration's file name, e.g. `00002_add_alerts.sql`. */
  readonly fileName: string;
  /** `up` when its Up section ran (applied), `down` when its Down section ran (rolled back). */
  readonly direction: 'up' | 'down';
  /** Wall time of the migration, its version-table change included. */
  readonly durationMs: number;
  /** True when the section it ran had no statements. */
  readonly empty: boolean;
}

/** A row of `status`: every file and every applied version. */
export interface MigrationStatusEntry {
  /** The migration's version. */
  readonly version: number;
  /** File name; `undefined` for a version applied in the database whose file is gone. */
  readonly fileName: string | undefined;
  /** When it was applied (`tstamp` of its newest row), or `undefined` when pending. */
  readonly appliedAt: Date | undefined;
  /** `applied` when the database has the version, `pending` when only the file does. */
  readonly state: 'applied' | 'pending';
}

/** What a run did. */
export interface MigrationRunResult {
  /** The migrations run, in the order they ran. */
  readonly applied: readonly AppliedMigration[];
  /** The database's version afterwards (0 when none is applied). */
  readonly version: number;
}
