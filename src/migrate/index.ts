/** goose-compatible SQL migrations: files, parser, runner (docs/migrations.md). */
export {
  createMigrationFile,
  fixMigrationFiles,
  listMigrationFiles,
  loadMigrations,
  parseMigrationFileName,
  type CreateMigrationOptions,
  type LoadMigrationsOptions,
  type MigrationRename,
} from './migration-files.js';
export { parseMigration, type ParseMigrationOptions } from './migration-parser.js';
export { migrate, type MigrateDirection, type MigrateOptions } from './migrate.js';
export { createMigrator, DEFAULT_MIGRATIONS_DIR, type Migrator, type MigratorOptions } from './migrator.js';
export { MIGRATION_APPLICATION_NAME, type MigrationTarget } from './migration-session.js';
export { DEFAULT_LOCK_RETRY_MS, DEFAULT_LOCK_TIMEOUT_MS, MIGRATION_LOCK_ID } from './migration-lock.js';
export { DEFAULT_VERSION_TABLE } from './version-table.js';
export type {
  AppliedMigration,
  Migration,
  MigrationFile,
  MigrationRunResult,
  MigrationSession,
  MigrationStatement,
  MigrationStatusEntry,
  ParsedMigration,
} from './migration-types.js';
