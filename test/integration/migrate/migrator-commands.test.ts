import { expect } from 'chai';
import pg from 'pg';
import { MigrationStateError } from '../../../src/errors/migration-error.js';
import { createMigrator, type MigratorOptions } from '../../../src/migrate/migrator.js';
import type { AppliedMigration } from '../../../src/migrate/migration-types.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';
import { adminQuery } from '../dialect/dialect-support.js';
import { columnExists, fixture, relationExists, resetDatabase, versionRows } from './migrate-support.js';

/** OID of `timestamptz`. */
const TIMESTAMPTZ_OID = 1184;

describe('migrator commands on a fresh database (goose semantics)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('migrate-commands');
  });

  after(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await resetDatabase(db);
  });

  const migrator = (options: MigratorOptions = {}) => createMigrator(db.url, { dir: fixture('run-basic'), env: db.env, ...options });

  it('up applies every migration in order and records goose rows', async () => {
    const reported: AppliedMigration[] = [];
    const result = await migrator({ onMigration: (m) => reported.push(m) }).up();

    expect(result.version).to.equal(4);
    expect(result.applied.map((m) => [m.version, m.direction, m.empty])).to.deep.equal([
      [1, 'up', false],
      [2, 'up', false],
      [3, 'up', false],
      [4, 'up', false],
    ]);
    expect(result.applied.map((m) => m.fileName)).to.deep.equal([
      '00001_create_alert.sql',
      '00002_add_severity.sql',
      '00003_alert_label_function.sql',
      '00004_create_silence.sql',
    ]);
    expect(reported).to.deep.equal(result.applied);
    expect(await versionRows(db)).to.deep.equal([0, 1, 2, 3, 4].map((version) => ({ version, applied: true })));
    expect(await relationExists(db, 'alert')).to.equal(true);
    expect(await relationExists(db, 'alert_severity_idx')).to.equal(true);
    expect(await relationExists(db, 'silence')).to.equal(true);
  });

  it('creates the version table exactly as goose does', async () => {
    await migrator().up();
    const columns = await adminQuery<{ column_name: string; data_type: string; is_nullable: string; is_identity: string; column_default: string | null }>(
      db,
      `select column_name, data_type, is_nullable, is_identity, column_default from information_schema.columns
        where table_schema = 'public' and table_name = 'goose_db_version' order by ordinal_position`,
    );
    expect(columns).to.deep.equal([
      { column_name: 'id', data_type: 'integer', is_nullable: 'NO', is_identity: 'YES', column_default: null },
      { column_name: 'version_id', data_type: 'bigint', is_nullable: 'NO', is_identity: 'NO', column_default: null },
      { column_name: 'is_applied', data_type: 'boolean', is_nullable: 'NO', is_identity: 'NO', column_default: null },
      { column_name: 'tstamp', data_type: 'timestamp without time zone', is_nullable: 'NO', is_identity: 'NO', column_default: 'now()' },
    ]);
    const key = await adminQuery<{ column_name: string }>(
      db,
      `select a.attname as column_name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = 'goose_db_version'::regclass and i.indisprimary`,
    );
    expect(key).to.deep.equal([{ column_name: 'id' }]);
  });

  it('a StatementBegin block holding a plpgsql function (semicolons inside) runs as one statement', async () => {
    await migrator().upTo(3);
    const rows = await adminQuery<{ label: string }>(db, "select alert_label('disk full', 'critical') as label");
    expect(rows).to.deep.equal([{ label: 'CRITICAL: disk full' }]);
  });

  it('up with nothing pending runs nothing and reports the version', async () => {
    await migrator().up();
    const again = await migrator().up();
    expect(again).to.deep.equal({ applied: [], version: 4 });
    expect(await versionRows(db)).to.have.length(5);
  });

  it('up-by-one applies the next migration only, and fails when none is pending', async () => {
    const first = await migrator().upByOne();
    expect(first.applied.map((m) => m.version)).to.deep.equal([1]);
    expect(first.version).to.equal(1);
    const second = await migrator().upByOne();
    expect(second.applied.map((m) => m.version)).to.deep.equal([2]);
    expect(await columnExists(db, 'alert', 'severity')).to.equal(true);
    expect(await relationExists(db, 'silence')).to.equal(false);

    await migrator().up();
    const error = await failureOf(migrator().upByOne());
    expect(error).to.be.instanceOf(MigrationStateError);
    expect(error.message).to.match(/no next version/);
  });

  it('up-to applies the pending migrations up to the version, inclusive', async () => {
    const result = await migrator().upTo(2);
    expect(result.applied.map((m) => m.version)).to.deep.equal([1, 2]);
    expect(result.version).to.equal(2);
    expect(await versionRows(db)).to.deep.equal([0, 1, 2].map((version) => ({ version, applied: true })));
    expect(await relationExists(db, 'silence')).to.equal(false);

    const rest = await migrator().upTo(4);
    expect(rest.applied.map((m) => m.version)).to.deep.equal([3, 4]);
    expect((await migrator().upTo(2)).applied).to.deep.equal([]);
  });

  it('up-to a version no file has is refused before anything runs', async () => {
    const error = await failureOf(migrator().upTo(7));
    expect(error).to.be.instanceOf(MigrationStateError);
    expect(error.message).to.contain('7');
    expect(await relationExists(db, 'alert')).to.equal(false);
    expect(await failureOf(migrator().upTo(0))).to.be.instanceOf(TypeError);
  });

  it('down rolls back the newest migration only, deleting its rows', async () => {
    await migrator().up();
    const result = await migrator().down();
    expect(result.applied.map((m) => [m.version, m.direction])).to.deep.equal([[4, 'down']]);
    expect(result.version).to.equal(3);
    expect(await versionRows(db)).to.deep.equal([0, 1, 2, 3].map((version) => ({ version, applied: true })));
    expect(await relationExists(db, 'silence')).to.equal(false);
    expect(await relationExists(db, 'alert')).to.equal(true);
  });

  it('down at version 0 is a MigrationStateError', async () => {
    const error = await failureOf(migrator().down());
    expect(error).to.be.instanceOf(MigrationStateError);
    expect(error.message).to.match(/version 0/);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
  });

  it('down-to rolls back every version above the target, newest first; down-to 0 rolls back all', async () => {
    await migrator().up();
    const result = await migrator().downTo(2);
    expect(result.applied.map((m) => m.version)).to.deep.equal([4, 3]);
    expect(result.version).to.equal(2);
    expect(await relationExists(db, 'silence')).to.equal(false);
    expect(await columnExists(db, 'alert', 'severity')).to.equal(true);
    expect((await adminQuery(db, "select 1 from pg_proc where proname = 'alert_label'")).length).to.equal(0);

    expect((await migrator().downTo(2)).applied).to.deep.equal([]);
    const all = await migrator().downTo(0);
    expect(all.applied.map((m) => m.version)).to.deep.equal([2, 1]);
    expect(all.version).to.equal(0);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
    expect(await relationExists(db, 'alert')).to.equal(false);
  });

  it('redo rolls the newest migration back and applies it again', async () => {
    await migrator().upTo(2);
    await adminQuery(db, "insert into alert (name, severity) values ('a', 'critical')");
    const result = await migrator().redo();
    expect(result.applied.map((m) => [m.version, m.direction])).to.deep.equal([
      [2, 'down'],
      [2, 'up'],
    ]);
    expect(result.version).to.equal(2);
    // the column was dropped and added again: the value is back to its default
    expect(await adminQuery(db, 'select severity from alert')).to.deep.equal([{ severity: 'warning' }]);
    expect((await versionRows(db)).map((row) => row.version)).to.deep.equal([0, 1, 2]);
    await migrator().reset();
    expect(await failureOf(migrator().redo())).to.be.instanceOf(MigrationStateError);
  });

  it('reset rolls back everything applied, newest first', async () => {
    await migrator().up();
    const result = await migrator().reset();
    expect(result.applied.map((m) => m.version)).to.deep.equal([4, 3, 2, 1]);
    expect(result.version).to.equal(0);
    expect(await relationExists(db, 'alert')).to.equal(false);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
    expect(await migrator().reset()).to.deep.equal({ applied: [], version: 0 });
  });

  it('status lists every file, applied or pending, and version reports the current version', async () => {
    expect(await migrator().version()).to.equal(0);
    await migrator().upTo(2);
    const before = Date.now();
    const status = await migrator().status();
    expect(status.map((s) => [s.version, s.fileName, s.state])).to.deep.equal([
      [1, '00001_create_alert.sql', 'applied'],
      [2, '00002_add_severity.sql', 'applied'],
      [3, '00003_alert_label_function.sql', 'pending'],
      [4, '00004_create_silence.sql', 'pending'],
    ]);
    const appliedAt = status[0]?.appliedAt;
    expect(appliedAt).to.be.instanceOf(Date);
    // read in the session's time zone: the instant is right, not off by the zone's offset
    expect(Math.abs((appliedAt?.getTime() ?? 0) - before)).to.be.below(60 * 60 * 1000);
    expect(status[2]?.appliedAt).to.equal(undefined);
    expect(await migrator().version()).to.equal(2);
  });

  it('applied times are right whatever the session time zone (tstamp is a timestamp without time zone)', async () => {
    await adminQuery(db, `alter database ${db.database} set timezone = 'Pacific/Kiritimati'`);
    try {
      await migrator().upTo(1);
      const before = Date.now();
      const appliedAt = (await migrator().status())[0]?.appliedAt;
      // UTC+14: a time read in the wrong zone would be 14 hours off
      expect(Math.abs((appliedAt?.getTime() ?? 0) - before)).to.be.below(60 * 60 * 1000);
    } finally {
      await adminQuery(db, `alter database ${db.database} reset timezone`);
    }
  });

  it("applied times do not depend on the application's pg type parsers (timestamptz kept as text)", async () => {
    const original = pg.types.getTypeParser(TIMESTAMPTZ_OID);
    pg.types.setTypeParser(TIMESTAMPTZ_OID, (value: string) => value);
    try {
      await migrator().upTo(1);
      const before = Date.now();
      const [first] = await migrator().status();
      expect(first?.state).to.equal('applied');
      expect(first?.appliedAt).to.be.instanceOf(Date);
      expect(Math.abs((first?.appliedAt?.getTime() ?? 0) - before)).to.be.below(60 * 60 * 1000);
    } finally {
      pg.types.setTypeParser(TIMESTAMPTZ_OID, original);
    }
  });

  it('status and version create the version table on a pristine database, as goose does', async () => {
    expect(await relationExists(db, 'goose_db_version')).to.equal(false);
    const status = await migrator().status();
    expect(status.every((s) => s.state === 'pending')).to.equal(true);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
  });

  it('rolling back a file without a Down section runs nothing and deletes its row, as goose does', async () => {
    const noDown = createMigrator(db.url, { dir: fixture('run-no-down'), env: db.env });
    await noDown.up();
    const result = await noDown.down();
    expect(result.applied).to.have.length(1);
    expect(result.applied[0]).to.include({ version: 2, direction: 'down', empty: true });
    expect(result.version).to.equal(1);
    expect(await adminQuery(db, 'select name, value from setting')).to.deep.equal([{ name: 'retention', value: '30d' }]);
    expect((await versionRows(db)).map((row) => row.version)).to.deep.equal([0, 1]);
  });

  it('timestamp versions (bigint) work', async () => {
    const stamps = createMigrator(db.url, { dir: fixture('run-timestamps'), env: db.env });
    const result = await stamps.up();
    expect(result.version).to.equal(20240215093000);
    expect((await versionRows(db)).map((row) => row.version)).to.deep.equal([0, 20240101120000, 20240215093000]);
    expect((await stamps.down()).version).to.equal(20240101120000);
  });
});
