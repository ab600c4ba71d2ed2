import { expect } from 'chai';
import { thrownBy } from '../../support/failure.js';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { ConfigError } from '../../../src/errors/config-error.js';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { SettingsDialectOptions } from '../../../src/dialect/dialect-options.js';
import { createDatabase } from '../../../src/database/create-database.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, configOf, eventually } from './dialect-support.js';

async function sessionsNamed(db: TestDatabase, applicationName: string): Promise<number> {
  const rows = await adminQuery<{ n: string }>(db, 'select count(*) as n from pg_stat_activity where application_name = $1', [applicationName]);
  return Number(rows[0]?.n);
}

async function settingOf(db: Kysely<unknown>, name: string): Promise<string | undefined> {
  const { rows } = await sql<{ value: string }>`select current_setting(${name}) as value`.execute(db);
  return rows[0]?.value;
}

describe('dialect: createDialect options and ownership of the pool', () => {
  let testDb: TestDatabase;

  before(async () => {
    testDb = await createTestDatabase('dialect options');
  });

  after(async () => {
    await testDb?.drop();
  });

  it('leaves a pool it was given open on db.destroy()', async () => {
    const pool = createPool(configOf(testDb));
    try {
      const db = new Kysely<unknown>({ dialect: createDialect({ pool }) });
      await sql`select 1`.execute(db);
      await db.destroy();
      expect(pool.closed).to.equal(false);
      const result = await pool.query<{ one: number }>('select 1 as one');
      expect(result.rows).to.deep.equal([{ one: 1 }]);
    } finally {
      await pool.close();
    }
  });

  it('creates its own pool from a PostgresConfig and closes it on db.destroy()', async () => {
    const applicationName = 'dialect-owned-config';
    const db = new Kysely<unknown>({ dialect: createDialect(configOf(testDb, { applicationName })) });
    expect(await settingOf(db, 'application_name')).to.equal(applicationName);
    expect(await sessionsNamed(testDb, applicationName)).to.equal(1);
    await db.destroy();
    await eventually(async () => (await sessionsNamed(testDb, applicationName)) === 0);
  });

  it('accepts { config } with PostgresConfigInput, merged over the given environment', async () => {
    const db = new Kysely<unknown>({
      dialect: createDialect({ config: { applicationName: 'from-input', statementTimeout: '7s' }, env: testDb.env }),
    });
    try {
      expect(await settingOf(db, 'application_name')).to.equal('from-input');
      expect(await settingOf(db, 'statement_timeout')).to.equal('7s');
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
      expect(rows).to.deep.equal([{ db: testDb.database }]);
    } finally {
      await db.destroy();
    }
  });

  it('accepts connection settings under pg.PoolConfig names', async () => {
    const settings: SettingsDialectOptions = {
      host: testDb.host,
      port: testDb.port,
      database: testDb.database,
      user: testDb.user,
      ...(testDb.password === undefined ? {} : { password: testDb.password }),
      ssl: false,
      max: 3,
      application_name: 'pg-names',
      statement_timeout: 5000,
      idle_in_transaction_session_timeout: 9000,
      env: {},
    };
    const db = new Kysely<unknown>({ dialect: createDialect(settings) });
    try {
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
      expect(rows).to.deep.equal([{ db: testDb.database }]);
      expect(await settingOf(db, 'application_name')).to.equal('pg-names');
      expect(await settingOf(db, 'statement_timeout')).to.equal('5s');
      expect(await settingOf(db, 'idle_in_transaction_session_timeout')).to.equal('9s');
    } finally {
      await db.destroy();
    }
  });

  it('maps pg\'s ssl: true to verify-full against the platform CA roots, and connectionTimeoutMillis: 0 to no connect limit', async () => {
    const base = { host: testDb.host, port: testDb.port, database: testDb.database, user: testDb.user, password: testDb.password, env: {} };
    const relaxed = new Kysely<unknown>({ dialect: createDialect({ ...base, ssl: false, connectionTimeoutMillis: 0 }) });
    try {
      expect(await settingOf(relaxed, 'server_version_num')).to.match(/^\d+$/);
    } finally {
      await relaxed.destroy();
    }
    // The test server has no TLS: verify-full must refuse to fall back to plaintext.
    const strict = new Kysely<unknown>({ dialect: createDialect({ ...base, ssl: true }) });
    try {
      let failure: unknown;
      try {
        await sql`select 1`.execute(strict);
      } catch (error) {
        failure = error;
      }
      expect(String((failure as Error | undefined)?.message)).to.match(/SSL/);
    } finally {
      await strict.destroy();
    }
  });

  it('rejects a pg.Pool given as pool with a message saying what to pass instead', async () => {
    const pgPool = new pg.Pool({ connectionString: testDb.url });
    try {
      const failure = thrownBy(() => createDialect({ pool: pgPool as unknown as InstrumentedPool }));
      expect(failure).to.be.instanceOf(TypeError);
      expect((failure as Error).message).to.include('createPool');
    } finally {
      await pgPool.end();
    }
  });

  it('accepts a connection string', async () => {
    const db = new Kysely<unknown>({ dialect: createDialect({ connectionString: testDb.url, sslMode: 'disable', env: {} }) });
    try {
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(db);
      expect(rows).to.deep.equal([{ db: testDb.database }]);
    } finally {
      await db.destroy();
    }
  });

  it('throws ConfigError at once, listing every problem, for settings it cannot honour', () => {
    const options = { host: 'localhost', max: 2, maxConns: 3, types: {}, ssl: { ca: '-----BEGIN CERTIFICATE-----' }, databse: 'typo' };
    const error = thrownBy(() => createDialect(options as unknown as SettingsDialectOptions));
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).to.deep.equal(['databse', 'max', 'ssl', 'types']);
    expect((error as ConfigError).message).to.not.include('BEGIN CERTIFICATE');
  });

  it('throws the ConfigError of loadConfig at once for invalid values', () => {
    const error = thrownBy(() => createDialect({ port: 'not-a-port', env: testDb.env }));
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).to.deep.equal(['port']);
  });

  it('createDatabase loads the environment it is given and wires interceptors', async () => {
    const operations: string[] = [];
    const database = createDatabase<unknown>(undefined, {
      env: testDb.env,
      interceptors: [{ before: (ctx) => void operations.push(ctx.operation) }],
    });
    try {
      await sql`select 1`.execute(database.db);
      expect(operations).to.deep.equal(['select']);
      expect(database.pool.config.database).to.equal(testDb.database);
    } finally {
      await database.close();
    }
    expect(database.pool.closed).to.equal(true);
  });
});
