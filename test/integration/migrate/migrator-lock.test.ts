import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { MigrationLockError } from '../../../src/errors/migration-error.js';
import { MIGRATION_LOCK_ID } from '../../../src/migrate/migration-lock.js';
import { createMigrator } from '../../../src/migrate/migrator.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';
import { adminQuery } from '../dialect/dialect-support.js';
import { advisoryLocks, fixture, recordingLogger, relationExists, resetDatabase, versionRows, type LoggedLine } from './migrate-support.js';

describe('migrator: the advisory lock shared with goose', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('migrate-lock');
  });

  after(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await resetDatabase(db);
  });

  /** A session of its own holding goose's lock, as a running goose would. */
  async function holdGooseLock(): Promise<{ client: pg.Client; pid: number }> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid, pg_advisory_lock($1)', ['4097083626']);
    return { client, pid: rows[0]?.pid ?? -1 };
  }

  it("uses goose's lock id", () => {
    expect(MIGRATION_LOCK_ID).to.equal(4097083626n);
  });

  it('two runners started at once: one waits, every migration is applied exactly once, the second finds nothing to do', async () => {
    const lines: LoggedLine[] = [];
    const runner = () => createMigrator(db.url, { dir: fixture('run-slow'), env: db.env, lockRetryMs: 200, logger: recordingLogger(lines) });
    const results = await Promise.all([runner().up(), runner().up()]);

    const counts = results.map((r) => r.applied.length).sort();
    expect(counts).to.deep.equal([0, 2]);
    expect(results.map((r) => r.version)).to.deep.equal([2, 2]);
    expect(await versionRows(db)).to.deep.equal([0, 1, 2].map((version) => ({ version, applied: true })));
    expect(await adminQuery(db, 'select id from job order by id')).to.deep.equal([{ id: 1 }, { id: 2 }]);
    const waits = lines.filter((line) => line.message.startsWith('waiting for the migration lock'));
    expect(waits.length).to.be.greaterThan(0);
    expect(waits[0]?.meta).to.include({ lockId: '4097083626' });
    expect(waits[0]?.meta?.holderPid).to.be.a('number');
    expect(await advisoryLocks(db)).to.deep.equal([]);
  });

  it('waits for a lock goose holds, then runs as soon as it is released', async () => {
    const goose = await holdGooseLock();
    try {
      const lines: LoggedLine[] = [];
      const running = createMigrator(db.url, { dir: fixture('run-basic'), env: db.env, lockRetryMs: 100, logger: recordingLogger(lines) }).up();
      // the runner waits for goose's session, nothing ran (not even the version table)
      while (!lines.some((line) => line.message.startsWith('waiting for the migration lock'))) await sleep(25);
      expect(await relationExists(db, 'goose_db_version')).to.equal(false);
      await goose.client.query('select pg_advisory_unlock($1)', ['4097083626']);
      const result = await running;
      expect(result.version).to.equal(4);
      expect(lines.some((line) => line.meta?.holderPid === goose.pid)).to.equal(true);
    } finally {
      await goose.client.end();
    }
  });

  it("a waiting runner holds no snapshot: the holder's CREATE INDEX CONCURRENTLY does not deadlock with it", async () => {
    await adminQuery(db, 'create table waited (id int); insert into waited select generate_series(1, 1000)');
    const goose = await holdGooseLock();
    try {
      const lines: LoggedLine[] = [];
      // default lockRetryMs (5 s): longer than the server's deadlock_timeout (1 s)
      const running = createMigrator(db.url, { dir: fixture('run-basic'), env: db.env, logger: recordingLogger(lines) }).up();
      running.catch(() => undefined);
      while (!lines.some((line) => line.message.startsWith('waiting for the migration lock'))) await sleep(25);
      // a runner that waited in the server's lock queue would be there now (one that polls never is)
      for (let i = 0; i < 20 && !(await advisoryLocks(db)).some((lock) => !lock.granted); i++) await sleep(25);
      // the holder builds an index concurrently, as a NO TRANSACTION migration does: this waits for
      // every transaction whose snapshot is older, which must not include the waiting runner
      await goose.client.query('create index concurrently waited_id_idx on waited (id)');
      await goose.client.query('select pg_advisory_unlock($1)', ['4097083626']);
      expect((await running).version).to.equal(4);
      expect(await advisoryLocks(db)).to.deep.equal([]);
    } finally {
      await goose.client.end();
    }
  });

  it('a lock not obtained in time is a MigrationLockError that says how to find the holder; nothing runs', async () => {
    const goose = await holdGooseLock();
    try {
      const error = await failureOf(createMigrator(db.url, { dir: fixture('run-basic'), env: db.env, lockTimeoutMs: 300, lockRetryMs: 100 }).up());
      expect(error).to.be.instanceOf(MigrationLockError);
      const lockError = error as MigrationLockError;
      expect(lockError.lockId).to.equal(4097083626n);
      expect(lockError.timeoutMs).to.equal(300);
      expect(lockError.holderPid).to.equal(goose.pid);
      expect(lockError.retryable).to.equal(true);
      expect(lockError.message).to.contain('another migration holds it');
      expect(lockError.message).to.contain("pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'");
      expect(lockError.message).to.contain('l.objid = 4097083626');
      expect(await relationExists(db, 'goose_db_version')).to.equal(false);
      expect(await relationExists(db, 'alert')).to.equal(false);

      // lockTimeoutMs 0: one try, no wait
      expect(await failureOf(createMigrator(db.url, { dir: fixture('run-basic'), env: db.env, lockTimeoutMs: 0 }).up())).to.be.instanceOf(MigrationLockError);
      // the waiting runners left no lock (granted or queued) behind: only goose's remains
      expect((await advisoryLocks(db)).map((lock) => [lock.pid, lock.granted])).to.deep.equal([[goose.pid, true]]);
    } finally {
      await goose.client.end();
    }
  });

  it('the lock is held by the migration session while migrations run, and released afterwards', async () => {
    const running = createMigrator(db.url, { dir: fixture('run-slow'), env: db.env }).up();
    let holders: { application_name: string }[] = [];
    while (holders.length === 0) {
      holders = await adminQuery<{ application_name: string }>(
        db,
        `select a.application_name from pg_locks l join pg_stat_activity a using (pid)
          where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = 4097083626 and l.objsubid = 1`,
      );
    }
    expect(holders).to.deep.equal([{ application_name: 'alert-history-db migrate' }]);
    expect((await running).version).to.equal(2);
    expect(await advisoryLocks(db)).to.deep.equal([]);
  });
});
