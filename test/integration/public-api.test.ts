/**
 * The README's tour and snippets, through the package's entry point: if this breaks, the README lies.
 */
import { expect } from 'chai';
import { Kysely, sql, type Generated } from 'kysely';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  PoolClosedError,
  createDatabase,
  createDialect,
  loadConfig,
  migrate,
  precompile,
  type DB as AlertDB,
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

  it('the five-minute tour: migrate, a transaction over the alert tables, typed rows, a precompiled query, multiplexing', async () => {
    const tourDb = await createTestDatabase('readme tour');
    try {
      const migrated = await migrate(tourDb.url, { dir: fileURLToPath(new URL('../../migrations', import.meta.url)), env: {} });
      expect(migrated.version).to.equal(3);
      const database = createDatabase<AlertDB>(loadConfig(tourDb.env), { multiplex: true });
      const { db } = database;
      const fingerprint = `tour-${Date.now()}`;
      const labels = { alertname: 'DiskFull', severity: 'page' };
      const startsAt = new Date();
      await db.transaction().execute(async (trx) => {
        const event = await trx
          .insertInto('alert_events')
          .values({ fingerprint, status: 'firing', starts_at: startsAt, labels, receiver: 'ops', group_key: 'tour' })
          .returning('received_at')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('alerts')
          .values({
            fingerprint,
            status: 'firing',
            labels,
            starts_at: startsAt,
            receiver: 'ops',
            first_seen_at: startsAt,
            last_seen_at: event.received_at,
            last_received_at: event.received_at,
            firing_episodes: 1,
          })
          .execute();
      });
      const firing = await db.selectFrom('alerts').select(['fingerprint', 'alertname', 'starts_at']).where('status', '=', 'firing').orderBy('starts_at', 'desc').limit(10).execute();
      expect(firing).to.deep.equal([{ fingerprint, alertname: 'DiskFull', starts_at: startsAt }]);
      const historyOf = precompile<{ fingerprint: string }>()(db, (db, param) =>
        db.selectFrom('alert_events').select(['status', 'starts_at']).where('fingerprint', '=', param('fingerprint')).orderBy('starts_at'),
      );
      expect(await historyOf.execute({ fingerprint })).to.deep.equal([{ status: 'firing', starts_at: startsAt }]);
      await db.deleteFrom('alert_events').where('fingerprint', '=', fingerprint).execute();
      await db.deleteFrom('alerts').where('fingerprint', '=', fingerprint).execute();
      // the single statements went to the shared connections; the transaction's did not
      expect(database.multiplexStats()).to.include({ multiplexed: 4, exclusive: 0 });
      await database.close();
    } finally {
      await tourDb.drop();
    }
  });
});
