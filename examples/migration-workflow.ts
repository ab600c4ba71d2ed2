/**
 * The migration workflow from code: create goose-format files, validate them, apply them, check
 * the status, roll back (docs/migrations.md).
 *
 *   npx tsx examples/migration-workflow.ts
 *   DATABASE_URL=postgres://… npx tsx examples/migration-workflow.ts
 *
 * The same steps from the command line (`npm run migrate -- …` in this repository,
 * `npx alert-history-db migrate …` where the package is installed):
 *
 *   alert-history-db migrate --dir DIR create "create silences" --sequential
 *   alert-history-db migrate --dir DIR validate
 *   alert-history-db migrate --dir DIR --table SCHEMA.goose_db_version status | up | down | down-to 0
 *
 * Everything happens in a temporary directory and in a schema of its own,
 * `alert_history_db_example`, which also holds this example's `goose_db_version`: the version
 * table of your database's own migrations is never touched. The schema is dropped at the end.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sql } from 'kysely';
// In an application: from 'alert-history-db' (see examples/README.md).
import { createDatabase, createMigrationFile, createMigrator, loadMigrations, type MigrationStatusEntry } from '../src/index.js';
import { useExampleServer } from './support/example-server.js';

const SCHEMA = 'alert_history_db_example';
const VERSION_TABLE = `${SCHEMA}.goose_db_version`;

/** goose's version table, as goose (and this runner) create it, typed for Kysely. */
interface ExampleDB {
  'alert_history_db_example.goose_db_version': { id: number; version_id: string; is_applied: boolean; tstamp: Date };
}

function printStatus(title: string, entries: readonly MigrationStatusEntry[]): void {
  console.log(`${title}:`);
  for (const entry of entries) {
    const state = entry.appliedAt === undefined ? 'Pending' : 'Applied';
    console.log(`  ${state.padEnd(8)} ${entry.fileName ?? `(version ${entry.version}: no file)`}`);
  }
}

const server = await useExampleServer();
console.log(`server: ${server.description}`);

const dir = await mkdtemp(join(tmpdir(), 'alert-history-db-migrations-'));
const database = createDatabase<ExampleDB>();
const { db } = database;

try {
  // A fresh schema for the example (left over from an interrupted run otherwise). The version
  // table may live in another schema than `public`, but that schema must exist.
  await sql`drop schema if exists ${sql.id(SCHEMA)} cascade`.execute(db);
  await sql`create schema ${sql.id(SCHEMA)}`.execute(db);

  // `create`: a file with an Up and a Down section holding placeholder statements, which we
  // replace with real ones. With `sequential` it is numbered 00001, 00002… (the default is a UTC
  // timestamp version, as goose does); the name becomes snake case.
  const first = await createMigrationFile(dir, 'create silences', { sequential: true });
  const template = await readFile(first, 'utf8');
  console.log(`created ${basename(first)} (${template.split('\n').filter((line) => line.startsWith('-- +goose')).join(', ')})`);
  await writeFile(
    first,
    `-- +goose Up
CREATE TABLE ${SCHEMA}.silences (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  matcher text NOT NULL,
  ends_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE ${SCHEMA}.silences;
`,
  );
  const second = await createMigrationFile(dir, 'index silences by end', { sequential: true });
  await writeFile(
    second,
    `-- +goose Up
CREATE INDEX silences_ends_at_idx ON ${SCHEMA}.silences (ends_at);

-- +goose Down
DROP INDEX ${SCHEMA}.silences_ends_at_idx;
`,
  );
  console.log(`created ${basename(second)}`);

  // `validate`: read and parse every file; nothing runs, no connection is opened.
  for (const migration of await loadMigrations(dir)) {
    console.log(`validated ${migration.fileName}: ${migration.up.length} up, ${migration.down.length} down statement(s)`);
  }

  // Every operation opens one session outside the pool and holds goose's advisory lock meanwhile.
  const migrator = createMigrator(database, {
    dir,
    table: VERSION_TABLE,
    onMigration: (applied) => console.log(`  ${applied.direction === 'up' ? 'OK  ' : 'DOWN'} ${applied.fileName}`),
  });
  const versionRows = () =>
    db.selectFrom(VERSION_TABLE).select(['version_id', 'is_applied']).orderBy('id').execute();

  printStatus('status before', await migrator.status());

  console.log('up:');
  const up = await migrator.up();
  console.log(`  version ${up.version}`);
  printStatus('status after up', await migrator.status());
  // goose's row (0, true) from the table's creation, then one row per applied version.
  console.log(`goose_db_version: ${(await versionRows()).map((row) => `(${row.version_id}, ${row.is_applied})`).join(' ')}`);

  console.log('down:');
  const down = await migrator.down();
  console.log(`  version ${down.version}`);
  // goose v3 deletes the row of a version it rolls back.
  console.log(`goose_db_version: ${(await versionRows()).map((row) => `(${row.version_id}, ${row.is_applied})`).join(' ')}`);

  console.log('down-to 0:');
  const reset = await migrator.downTo(0);
  console.log(`  version ${reset.version}`);
  const silences = await sql<{ exists: boolean }>`select to_regclass(${`${SCHEMA}.silences`}) is not null as exists`.execute(db);
  console.log(`table ${SCHEMA}.silences exists: ${silences.rows[0]?.exists}`);
} finally {
  await sql`drop schema if exists ${sql.id(SCHEMA)} cascade`.execute(db).catch(() => undefined);
  await database.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
console.log('done');
