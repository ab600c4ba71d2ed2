import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import type { PooledConnection } from '../../../src/pool/instrumented-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { CapturingLogger, poolSuite, waitFor } from './pool-test-kit.js';

describe('pool and broken connections', () => {
  const suite = poolSuite('pool broken', { admin: true });
  const pools = suite.pools;

  it('survives pg_terminate_backend of an idle connection: no uncaught exception, counted, replaced', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const logger = new CapturingLogger();
      const idleErrors: (number | undefined)[] = [];
      const config = poolConfig(suite.db, { maxConns: 2 });
      const pool = createPool(config, { logger, observer: { onIdleError: (event) => void idleErrors.push(event.connectionId) } });
      pools.push(pool);
      const connection = await pool.acquire();
      const { id, processId } = connection;
      connection.release();
      expect(await suite.admin.terminate(processId as number)).to.equal(true);
      await waitFor('the idle error to be counted', () => pool.stats().idleErrorCount === 1);
      await waitFor('the removal to be counted', () => pool.stats().destroyedCount.error === 1);
      expect(idleErrors).to.deep.equal([id]);
      expect(logger.find('warn', 'idle connection failed')).to.have.length(1);
      expect(pool.stats()).to.include({ total: 0, idle: 0 });

      const next = await pool.acquire();
      expect(next.processId).to.be.a('number').and.not.equal(processId);
      expect((await next.client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
      next.release();
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('destroys a healthy connection released with a fatal error (57P01, 08006) and keeps one released with 23505', async () => {
    const config = poolConfig(suite.db, { maxConns: 1 });
    const pool = createPool(config);
    pools.push(pool);
    // The connection is healthy every time: only release(error) can decide to destroy it.
    const borrowHealthy = async (): Promise<PooledConnection> => {
      const connection = await pool.acquire();
      expect(connection.broken).to.equal(false);
      expect((await connection.client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
      expect(connection.processId).to.be.a('number');
      return connection;
    };

    const first = await borrowHealthy();
    first.release({ code: '23505', message: 'duplicate key value violates unique constraint' });
    let current = await borrowHealthy();
    expect(current.id).to.equal(first.id); // a non-fatal error keeps the connection
    expect(current.processId).to.equal(first.processId);
    expect(pool.stats().destroyedCount.error).to.equal(0);

    const retired: number[] = [];
    for (const [index, code] of ['57P01', '08006'].entries()) {
      retired.push(current.processId as number);
      current.release({ code });
      await waitFor(`the connection released with ${code} to be destroyed`, () => pool.stats().destroyedCount.error === index + 1);
      current = await borrowHealthy();
      expect(retired).to.not.include(current.processId);
    }
    const survivor = current.processId as number;
    current.release();
    await waitFor('only the last session left on the server', async () => {
      const pids = await suite.admin.sessions(config.applicationName);
      return pids.length === 1 && pids[0] === survivor;
    });
    expect(pool.stats()).to.include({ idleErrorCount: 0, createdCount: 3 });
    expect(pool.stats().destroyedCount).to.deep.equal({ idle: 0, lifetime: 0, error: 2, shutdown: 0 });
  });

  it('marks a borrowed connection broken when its client fails, warns once, never crashes, and destroys it at release', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const logger = new CapturingLogger();
      const pool = createPool(poolConfig(suite.db, { maxConns: 2 }), { logger });
      pools.push(pool);
      const connection = await pool.acquire();
      expect(connection.broken).to.equal(false);
      const pid = connection.processId;
      // No query in flight: the client itself emits the errors (57P01, then "Connection terminated
      // unexpectedly"), and only the pool's permanent listener is there to take them.
      await suite.admin.terminate(pid as number);
      await waitFor('the client to be marked broken', () => connection.broken);
      await waitFor('the connection to end', async () => {
        try {
          await connection.client.query('select 1');
          return false;
        } catch {
          return true;
        }
      });
      const warnings = logger.find('warn', 'borrowed connection failed');
      expect(warnings).to.have.length(1);
      expect(warnings[0]?.meta).to.include({ connectionId: connection.id, processId: pid });
      connection.release(); // the caller forgot the error
      expect(connection.broken).to.equal(true);
      await waitFor('the broken connection to be destroyed', () => pool.stats().destroyedCount.error === 1);
      const next = await pool.acquire();
      expect(next.processId).to.not.equal(pid);
      expect(next.broken).to.equal(false);
      next.release();
      expect(pool.stats().idleErrorCount).to.equal(0);
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('keeps a connection released with an ordinary SQL error', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }));
    pools.push(pool);
    const connection = await pool.acquire();
    let failure: unknown;
    await connection.client.query('select * from no_such_table').catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.have.property('code', '42P01');
    connection.release(failure);
    const next = await pool.acquire();
    expect(next.id).to.equal(connection.id);
    next.release();
    expect(pool.stats().destroyedCount.error).to.equal(0);
    let viaQuery: unknown;
    await pool.query('select * from no_such_table').catch((error: unknown) => {
      viaQuery = error;
    });
    expect(viaQuery).to.have.property('code', '42P01');
    expect(pool.stats()).to.include({ total: 1, idle: 1, active: 0 });
  });

  it('destroys a connection released inside a transaction, so no one inherits it', async () => {
    const logger = new CapturingLogger();
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }), { logger });
    pools.push(pool);
    const connection = await pool.acquire();
    await connection.client.query('begin');
    connection.release();
    await waitFor('the connection to be destroyed', () => pool.stats().destroyedCount.error === 1);
    const warnings = logger.find('warn', 'inside a transaction');
    expect(warnings).to.have.length(1);
    expect(warnings[0]?.meta).to.include({ connectionId: connection.id, processId: connection.processId, transaction: 'open' });
    const next = await pool.acquire();
    expect(next.id).to.not.equal(connection.id);
    const { rows } = await next.client.query<{ tx: boolean }>("select now() = statement_timestamp() as tx");
    expect(rows[0]?.tx).to.equal(true); // not inside a transaction
    next.release();
  });

  it('ignores a second release of the same connection', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1 }));
    pools.push(pool);
    const connection = await pool.acquire();
    connection.release();
    connection.release();
    connection.release(new Error('Connection terminated'));
    expect(pool.stats()).to.include({ active: 0, idle: 1 });
    expect(pool.stats().destroyedCount.error).to.equal(0);
    const again = await pool.acquire();
    expect(again.id).to.equal(connection.id);
    again.release();
  });
});
