import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite } from './pool-test-kit.js';

describe('pool session settings', () => {
  const suite = poolSuite('pool session');
  const pools = suite.pools;

  it('applies application_name, statement_timeout and idle_in_transaction_session_timeout to every session', async () => {
    const config = poolConfig(suite.db, { applicationName: 'pool-session-test', statementTimeout: 1500, idleInTransactionSessionTimeout: 45_000 });
    const pool = createPool(config);
    pools.push(pool);
    const { rows } = await pool.query<{ app: string; statement: string; idle: string }>(
      `select current_setting('application_name') as app,
              current_setting('statement_timeout') as statement,
              current_setting('idle_in_transaction_session_timeout') as idle`,
    );
    expect(rows[0]).to.deep.equal({ app: 'pool-session-test', statement: '1500ms', idle: '45s' });
  });

  it('cancels a statement over statement_timeout (57014) and keeps the connection', async () => {
    const pool = createPool(poolConfig(suite.db, { statementTimeout: 100, maxConns: 1 }));
    pools.push(pool);
    const connection = await pool.acquire();
    let failure: unknown;
    await connection.client.query('select pg_sleep(5)').catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.have.property('code', '57014');
    connection.release(failure);
    const next = await pool.acquire();
    expect(next.id).to.equal(connection.id);
    next.release();
    expect(pool.stats().destroyedCount.error).to.equal(0);
  });

  it('leaves the server default in place for a statement timeout of 0', async () => {
    const pool = createPool(poolConfig(suite.db, { statementTimeout: 0 }));
    pools.push(pool);
    const { rows } = await pool.query<{ statement: string }>("select current_setting('statement_timeout') as statement");
    expect(rows[0]?.statement).to.equal('0');
  });

  it('runs the onConnect hook once per new connection, before first use', async () => {
    const seen: number[] = [];
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }), {
      onConnect: async (client) => {
        await client.query("select set_config('search_path', 'pg_catalog', false)");
        seen.push(1);
      },
    });
    pools.push(pool);
    for (let i = 0; i < 3; i += 1) {
      const { rows } = await pool.query<{ path: string }>("select current_setting('search_path') as path");
      expect(rows[0]?.path).to.equal('pg_catalog');
    }
    expect(seen).to.have.length(1);
  });

  it('never puts the password in connectionOptions enumerable properties or in JSON', async () => {
    const pool = createPool(poolConfig(suite.db));
    pools.push(pool);
    const options = pool.connectionOptions;
    expect(Object.keys(options)).to.not.include('password');
    expect(options.password).to.equal(suite.db.password === '' ? undefined : suite.db.password);
    if (suite.db.password) expect(JSON.stringify(options)).to.not.include(suite.db.password);
    expect(options).to.include({ host: suite.db.host, port: suite.db.port, database: suite.db.database, keepAlive: true });
  });
});
