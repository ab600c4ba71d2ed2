import { expect } from 'chai';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PoolClosedError } from '../../../src/errors/pool-closed-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { CapturingLogger, poolSuite, waitFor } from './pool-test-kit.js';
import { failureOf } from '../../support/failure.js';


describe('pool close', () => {
  const suite = poolSuite('pool close', { admin: true });

  it('lets a query in flight finish, then closes; later acquisitions fail with PoolClosedError', async () => {
    const config = poolConfig(suite.db, { minConns: 2, maxConns: 3 });
    const pool = createPool(config);
    await pool.warmUp();
    const inFlight = pool.query<{ done: number }>('select pg_sleep(0.3), 1 as done');
    await waitFor('the query to hold a connection', () => pool.stats().active === 1);
    const closing = pool.close();
    expect(pool.close()).to.equal(closing); // idempotent: the same promise
    expect(pool.close({ timeoutMs: 1 })).to.equal(closing);
    expect(pool.closed).to.equal(true);
    expect(await failureOf(pool.acquire())).to.be.instanceOf(PoolClosedError);
    const result = await inFlight;
    expect(result.rows[0]?.done).to.equal(1);
    await closing;
    expect(await failureOf(pool.acquire())).to.be.instanceOf(PoolClosedError);
    expect(await failureOf(pool.query('select 1'))).to.be.instanceOf(PoolClosedError);
    await waitFor('the sessions to end on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 0);
    const stats = pool.stats();
    expect(stats).to.include({ total: 0, idle: 0, active: 0, waiting: 0 });
    expect(stats.destroyedCount).to.deep.equal({ idle: 0, lifetime: 0, error: 0, shutdown: 2 });
  });

  it('rejects waiting acquisitions with PoolClosedError', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1 }));
    const held = await pool.acquire();
    const waiting = pool.acquire();
    await waitFor('a waiter', () => pool.stats().waiting === 1);
    const closing = pool.close();
    expect(await failureOf(waiting)).to.be.instanceOf(PoolClosedError);
    held.release();
    await closing;
    expect(pool.stats()).to.include({ total: 0, waiting: 0, acquireTimeoutCount: 0 });
  });

  it('closes a connection never released once the timeout passes', async () => {
    const logger = new CapturingLogger();
    const config = poolConfig(suite.db, { maxConns: 2 });
    const pool = createPool(config, { logger });
    const forgotten = await pool.acquire();
    const pid = forgotten.processId;
    await pool.close({ timeoutMs: 200 });
    await waitFor('the session to end on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 0);
    expect(pool.stats()).to.include({ total: 0, active: 0 });
    expect(pool.stats().destroyedCount.shutdown).to.equal(1);
    expect(logger.find('warn', 'not released before the close timeout')).to.have.length(1);
    expect(logger.find('warn', 'not released')[0]?.meta).to.include({ connectionId: forgotten.id });
    let failure: unknown;
    await forgotten.client.query('select 1').catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.be.instanceOf(Error); // the session is gone
    forgotten.release(); // a late release is harmless
    expect(pool.stats().destroyedCount.shutdown).to.equal(1);
    expect(pid).to.be.a('number');
  });

  it('terminates on the server the statement of a connection still borrowed at the timeout', async () => {
    const logger = new CapturingLogger();
    const config = poolConfig(suite.db, { maxConns: 2 });
    const pool = createPool(config, { logger });
    const sleeping = failureOf(pool.query('select pg_sleep(30) as slept'));
    const isSleeping = (query: string): boolean => query.includes('pg_sleep(30)');
    await waitFor('the statement to run on the server', async () => (await suite.admin.queries(config.applicationName)).some(isSleeping));
    await pool.close({ timeoutMs: 100 });
    // Ending the socket alone would leave the statement running on the server for 30 s.
    await waitFor('the statement to stop on the server', async () => !(await suite.admin.queries(config.applicationName)).some(isSleeping));
    await waitFor('the session to end on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 0);
    expect(await sleeping).to.be.instanceOf(Error);
    expect(logger.find('warn', 'not released before the close timeout')).to.have.length(1);
    expect(logger.find('warn', 'could not terminate')).to.deep.equal([]);
    expect(logger.find('warn', 'idle connection failed')).to.deep.equal([]);
    expect(logger.find('warn', 'borrowed connection failed')).to.deep.equal([]);
    await waitFor('the close to be counted', () => pool.stats().destroyedCount.shutdown === 1);
    expect(pool.stats()).to.include({ total: 0, active: 0, idleErrorCount: 0 });
    // The control connection was outside the pool, and is closed too.
    await waitFor('no control session left', async () => (await suite.admin.sessions(`${config.applicationName} (close)`)).length === 0);
    expect(pool.stats().createdCount).to.equal(1);
  });

  it('resolves even when a connect never completes (connectTimeout 0), and says so', async () => {
    // A server that accepts TCP connections and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const logger = new CapturingLogger();
      const pool = createPool(poolConfig(suite.db, { host: '127.0.0.1', port, connectTimeout: 0, acquireTimeout: 60_000 }), { logger });
      const acquiring = failureOf(pool.acquire());
      await waitFor('the connect to reach the server', () => sockets.size === 1);
      await pool.close({ timeoutMs: 10 });
      expect(await acquiring).to.be.instanceOf(PoolClosedError);
      expect(logger.find('warn', 'did not finish closing within the close timeout')).to.have.length(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('closes an idle pool and rejects warmUp afterwards', async () => {
    const pool = createPool(poolConfig(suite.db, { minConns: 1 }));
    await pool.warmUp();
    await pool.close();
    expect(await failureOf(pool.warmUp())).to.be.instanceOf(PoolClosedError);
    expect(pool.stats().destroyedCount.shutdown).to.equal(1);
  });
});
