/**
 * The README's tour, through the package's entry point: if this breaks, the README lies.
 */
import { expect } from 'chai';
import { Kysely, sql, type Generated } from 'kysely';
import pg from 'pg';
import {
  ConfigError,
  PoolClosedError,
  createDatabase,
  createDialect,
  loadConfig,
  type PostgresConfig,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

interface DB {
  person: { id: Generated<number>; name: string; created_at: Generated<Date> };
}

describe('public API (README tour)', () => {
  let testDb: TestDatabase;
  let config: PostgresConfig;

  before(async () => {
    testDb = await createTestDatabase('public api');
    config = loadConfig(testDb.env);
    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    await client.query('create table person (id serial primary key, name text not null, created_at timestamptz not null default now())');
    await client.end();
  });

  after(async () => {
    await testDb.drop();
  });

  it('createDatabase gives a typed Kysely, a pool with stats, and an idempotent close', async () => {
    const { db, pool, close } = createDatabase<DB>(config);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values([{ name: 'Ada' }, { name: 'Alan' }, { name: 'Grace' }]).execute();
    });
    const people = await db.selectFrom('person').select(['id', 'name']).where('name', 'like', 'A%').orderBy('id').execute();
    expect(people.map((p) => p.name)).to.deep.equal(['Ada', 'Alan']);
    const stats = pool.stats();
    expect(stats.acquireCount).to.be.at.least(2);
    expect(stats.active).to.equal(0);
    const first = close();
    expect(close()).to.equal(first);
    await first;
    let failure: unknown;
    try {
      await pool.acquire();
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(PoolClosedError);
  });

  it('createDialect takes pg.Pool-style settings where PostgresDialect took a pg.Pool', async () => {
    const db = new Kysely<DB>({
      dialect: createDialect({
        host: testDb.host,
        port: testDb.port,
        database: testDb.database,
        user: testDb.user,
        password: testDb.password,
        ssl: false,
        max: 3,
        env: {},
      }),
    });
    try {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from person`.execute(db);
      expect(rows[0]?.n).to.be.a('number');
    } finally {
      await db.destroy();
    }
  });

  it('bad configuration fails before anything opens, naming every problem and no secret', () => {
    let failure: unknown;
    try {
      createDatabase<DB>(undefined, {
        env: { DATABASE_URL: 'postgres://app:s3cret-pw@db:99999/x', DB_MAX_CONNS: '0', DB_ACQUIRE_TIMEOUT: '-5s' },
      });
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(ConfigError);
    const problems = (failure as ConfigError).problems.map((p) => p.field);
    expect(problems).to.include.members(['DB_MAX_CONNS', 'DB_ACQUIRE_TIMEOUT']);
    expect(problems.some((field) => field === 'DATABASE_URL')).to.equal(true);
    expect(String(failure)).to.not.include('s3cret-pw');
  });
});
