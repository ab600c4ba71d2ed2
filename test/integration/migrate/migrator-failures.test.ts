import { expect } from 'chai';
import pg from 'pg';
import { MigrationFailedError } from '../../../src/errors/migration-error.js';
import { createMigrator } from '../../../src/migrate/migrator.js';
import type { AppliedMigration } from '../../../src/migrate/migration-types.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';
import { adminQuery } from '../dialect/dialect-support.js';
import { advisoryLocks, fixture, relationExists, resetDatabase, versionRows } from './migrate-support.js';

describe('migrator: failures, transactions and NO TRANSACTION', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('migrate-failures');
  });

  after(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await resetDatabase(db);
  });

  it('a failing migration rolls back only itself; the error names file, line and the server error', async () => {
    const reported: AppliedMigration[] = [];
    const migrator = createMigrator(db.url, { dir: fixture('run-failing'), env: db.env, onMigration: (m) => reported.push(m) });
    const error = await failureOf(migrator.up());

    expect(error).to.be.instanceOf(MigrationFailedError);
    const failed = error as MigrationFailedError;
    expect(failed.failedVersion).to.equal(3);
    expect(failed.file).to.equal('00003_broken.sql');
    expect(failed.direction).to.equal('up');
    expect(failed.line).to.equal(5);
    expect(failed.message).to.contain('00003_broken.sql:5');
    expect(failed.cause).to.be.instanceOf(pg.DatabaseError);
    expect((failed.cause as pg.DatabaseError).code).to.equal('42P01');

    // 1 and 2 stay applied; 3 left nothing behind (its first statements were rolled back); 4 never ran
    expect(reported.map((m) => m.version)).to.deep.equal([1, 2]);
    expect(await versionRows(db)).to.deep.equal([0, 1, 2].map((version) => ({ version, applied: true })));
    expect(await relationExists(db, 'alert')).to.equal(true);
    expect(await relationExists(db, 'half_done')).to.equal(false);
    expect(await relationExists(db, 'silence')).to.equal(false);
    expect(await migrator.version()).to.equal(2);
  });

  it('the lock is released after a failure', async () => {
    const migrator = createMigrator(db.url, { dir: fixture('run-failing'), env: db.env });
    expect(await failureOf(migrator.up())).to.be.instanceOf(MigrationFailedError);
    expect(await advisoryLocks(db)).to.deep.equal([]);
    // a second run takes the lock at once (lockTimeoutMs 0: no waiting) and fails the same way
    const again = await failureOf(createMigrator(db.url, { dir: fixture('run-failing'), env: db.env, lockTimeoutMs: 0 }).up());
    expect(again).to.be.instanceOf(MigrationFailedError);
    expect(await advisoryLocks(db)).to.deep.equal([]);
  });

  it('NO TRANSACTION runs CREATE INDEX CONCURRENTLY', async () => {
    const migrator = createMigrator(db.url, { dir: fixture('run-concurrently'), env: db.env });
    const result = await migrator.up();
    expect(result.version).to.equal(2);
    const index = await adminQuery<{ indisvalid: boolean }>(db, "select indisvalid from pg_index where indexrelid = 'event_fingerprint_idx'::regclass");
    expect(index).to.deep.equal([{ indisvalid: true }]);
    expect((await versionRows(db)).map((row) => row.version)).to.deep.equal([0, 1, 2]);

    const down = await migrator.down();
    expect(down.version).to.equal(1);
    expect(await relationExists(db, 'event_fingerprint_idx')).to.equal(false);
  });

  it('CREATE INDEX CONCURRENTLY in a transactional migration fails as PostgreSQL says', async () => {
    const migrator = createMigrator(db.url, { dir: fixture('run-concurrently-in-tx'), env: db.env });
    const error = await failureOf(migrator.up());
    expect(error).to.be.instanceOf(MigrationFailedError);
    const failed = error as MigrationFailedError;
    expect(failed.file).to.equal('00002_event_fingerprint_index.sql');
    expect(failed.line).to.equal(2);
    expect((failed.cause as pg.DatabaseError).code).to.equal('25001');
    expect(failed.message).to.contain('CREATE INDEX CONCURRENTLY cannot run inside a transaction block');
    expect((await versionRows(db)).map((row) => row.version)).to.deep.equal([0, 1]);
    expect(await relationExists(db, 'event_fingerprint_idx')).to.equal(false);
  });
});
