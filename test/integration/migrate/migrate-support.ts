/** Helpers shared by the migration runner suites. Everything runs against the real test server. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../src/observability/logger.js';
import type { TestDatabase } from '../../support/test-database.js';
import { adminQuery } from '../dialect/dialect-support.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'migrations');

/** Absolute path of a fixture directory `test/fixtures/migrations/<name>`. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** A row of goose's version table, in `id` order. */
export interface VersionRow {
  readonly version: number;
  readonly applied: boolean;
}

/** The rows of the version table `table` (SQL, already quoted if needed), oldest first. */
export async function versionRows(db: TestDatabase, table = 'goose_db_version'): Promise<VersionRow[]> {
  const rows = await adminQuery<{ version_id: string; is_applied: boolean }>(db, `select version_id, is_applied from ${table} order by id`);
  return rows.map((row) => ({ version: Number(row.version_id), applied: row.is_applied }));
}

/** Whether a relation (table, index…) or function of that name exists. */
export async function relationExists(db: TestDatabase, name: string): Promise<boolean> {
  const rows = await adminQuery<{ present: boolean }>(db, 'select to_regclass($1) is not null as present', [name]);
  return rows[0]?.present === true;
}

/** Whether a column exists. */
export async function columnExists(db: TestDatabase, table: string, column: string): Promise<boolean> {
  const rows = await adminQuery<{ n: string }>(
    db,
    'select count(*) as n from information_schema.columns where table_schema = current_schema() and table_name = $1 and column_name = $2',
    [table, column],
  );
  return Number(rows[0]?.n) === 1;
}

/** Advisory locks held (or awaited) in the test database, by any session. */
export async function advisoryLocks(db: TestDatabase): Promise<{ pid: number; granted: boolean; objid: string }[]> {
  return adminQuery(
    db,
    "select pid, granted, objid::text as objid from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
  );
}

/** Empties the test database between tests: the public schema and every schema in `extra`. */
export async function resetDatabase(db: TestDatabase, extra: readonly string[] = []): Promise<void> {
  const drops = extra.map((schema) => `drop schema if exists "${schema}" cascade;`).join('\n');
  await adminQuery(db, `${drops} drop schema public cascade; create schema public;`);
}

/** A logged line. */
export interface LoggedLine {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

/** A logger that keeps its lines. */
export function recordingLogger(lines: LoggedLine[]): Logger {
  const at =
    (level: LoggedLine['level']) =>
    (message: string, meta?: Record<string, unknown>): void =>
      void lines.push({ level, message, meta });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
