import { format, inspect } from 'node:util';
import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite } from './pool-test-kit.js';
import { withProcessEnv } from '../../support/process-env.js';

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

  it('never puts the password in connectionOptions as a property that inspect, %o or JSON could print', async () => {
    const pool = createPool(poolConfig(suite.db));
    pools.push(pool);
    const options = pool.connectionOptions;
    expect(Object.keys(options)).to.not.include('password');
    expect(options.password).to.be.a('function');
    expect((options.password as () => string | undefined)()).to.equal(suite.db.password || undefined);
    if (suite.db.password) {
      for (const shown of [JSON.stringify(options), inspect(options, { showHidden: true, depth: 5 }), format('%o', options)]) {
        expect(shown).to.not.include(suite.db.password);
      }
    }
    expect(options).to.include({ host: suite.db.host, port: suite.db.port, database: suite.db.database, keepAlive: true });
  });

  it('is decided by the configuration alone: PGPASSWORD, PGOPTIONS, PGCLIENTENCODING, PGSSLNEGOTIATION and PGREPLICATION in process.env change nothing', async () => {
    const fromTheProcess = {
      PGPASSWORD: suite.db.password ?? 'not-used',
      PGOPTIONS: '-c search_path=env_should_not_win -c statement_timeout=1234',
      PGCLIENTENCODING: 'LATIN1',
      PGSSLNEGOTIATION: 'direct',
      PGREPLICATION: 'database',
    };
    await withProcessEnv(fromTheProcess, async () => {
      // prefer: pg would refuse sslnegotiation=direct with a plaintext fallback; it must not apply.
      const pool = createPool(poolConfig(suite.db, { sslMode: 'prefer' }));
      pools.push(pool);
      const { rows } = await pool.query<{ path: string; timeout: string; encoding: string; text: string }>(
        "select current_setting('search_path') as path, current_setting('statement_timeout') as timeout, " +
          "current_setting('client_encoding') as encoding, 'Grüße ✓' as text",
      );
      expect(rows[0]?.path).to.not.include('env_should_not_win');
      expect(rows[0]?.timeout).to.not.equal('1234ms');
      expect(rows[0]?.encoding).to.equal('UTF8');
      expect(rows[0]?.text).to.equal('Grüße ✓');

      // No password configured: the PGPASSWORD of the process must not be used behind its back.
      const withoutPassword = createPool(poolConfig(suite.db, { password: '' }));
      pools.push(withoutPassword);
      let failure: unknown;
      try {
        await withoutPassword.query('select 1');
      } catch (error) {
        failure = error;
      }
      if (suite.db.password) {
        // The server asks for a password (scram-sha-256): connecting without one must fail.
        expect(failure, 'connected with the process PGPASSWORD').to.be.instanceOf(Error);
      } else {
        // A trust-auth server (CI's PostgreSQL 15) never asks: connecting works either way.
        expect(failure).to.equal(undefined);
      }
    });
  });
});
