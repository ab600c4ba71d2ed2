import { expect } from 'chai';
import { createDatabase } from '../../../src/database/create-database.js';
import { migrate } from '../../../src/migrate/migrate.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';
import { configOf } from '../dialect/dialect-support.js';
import { fixture, relationExists, resetDatabase, versionRows } from './migrate-support.js';

describe('migrate(): the programmatic API', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('migrate-api');
  });

  after(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await resetDatabase(db);
  });

  const dir = fixture('run-basic');

  it('with a Database from createDatabase: applies at start, takes no pooled connection, leaves the pool open', async () => {
    const database = createDatabase(configOf(db), { metrics: false, health: false });
    try {
      const result = await migrate(database, { dir });
      expect(result.version).to.equal(4);
      expect(result.applied).to.have.length(4);
      expect(database.pool.stats().acquireCount).to.equal(0);
      expect(database.pool.closed).to.equal(false);
      const rows = await database.pool.query<{ n: string }>('select count(*) as n from silence');
      expect(rows.rows).to.deep.equal([{ n: '0' }]);
    } finally {
      await database.close();
    }
  });

  it('with a connection URL, a loaded configuration, configuration input and a pool', async () => {
    expect((await migrate(db.url, { dir, env: db.env, to: 1 })).version).to.equal(1);
    expect((await migrate(configOf(db), { dir, to: 2 })).version).to.equal(2);
    expect((await migrate({ host: db.host, port: db.port, user: db.user, database: db.database, password: db.password, sslMode: 'disable' }, { dir, env: {}, to: 3 })).version).to.equal(3);
    const pool = createPool(configOf(db));
    try {
      expect((await migrate(pool, { dir })).version).to.equal(4);
    } finally {
      await pool.close();
    }
  });

  it('directions: down, down to, up-by-one, redo, reset', async () => {
    const options = { dir, env: db.env };
    await migrate(db.url, options);
    expect((await migrate(db.url, { ...options, direction: 'down' })).version).to.equal(3);
    expect((await migrate(db.url, { ...options, direction: 'down', to: 1 })).applied.map((m) => m.version)).to.deep.equal([3, 2]);
    expect((await migrate(db.url, { ...options, direction: 'up-by-one' })).version).to.equal(2);
    const redo = await migrate(db.url, { ...options, direction: 'redo' });
    expect(redo.applied.map((m) => `${m.direction} ${m.version}`)).to.deep.equal(['down 2', 'up 2']);
    expect((await migrate(db.url, { ...options, direction: 'reset' })).version).to.equal(0);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
    expect(await relationExists(db, 'alert')).to.equal(false);
  });

  it('refuses `to` with the directions that take none, and unknown directions', async () => {
    expect(await failureOf(migrate(db.url, { dir, direction: 'redo', to: 1 }))).to.be.instanceOf(TypeError);
    expect(await failureOf(migrate(db.url, { dir, direction: 'sideways' as 'up' }))).to.be.instanceOf(TypeError);
    expect(await relationExists(db, 'goose_db_version')).to.equal(false);
  });
});
