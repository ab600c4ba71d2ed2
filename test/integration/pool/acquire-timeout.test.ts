import { expect } from 'chai';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { AcquireTimeoutError } from '../../../src/errors/acquire-timeout-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, waitFor } from './pool-test-kit.js';
import { failureOf } from '../../support/failure.js';


describe('pool acquisition deadline and cancellation', () => {
  const suite = poolSuite('pool acquire');
  const pools = suite.pools;

  it('rejects with AcquireTimeoutError naming the pool size, connections in use and waiters', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1, acquireTimeout: 200 }), { name: 'small' });
    pools.push(pool);
    const held = await pool.acquire();
    const error = await failureOf(pool.acquire());
    expect(error).to.be.instanceOf(AcquireTimeoutError);
    const timeout = error as AcquireTimeoutError;
    expect(timeout.message).to.include('pool "small"').and.include('1 of 1 connections in use').and.include('1 waiting');
    expect(timeout.message).to.include('200 ms');
    expect(timeout.details).to.deep.equal({ poolName: 'small', timeoutMs: 200, max: 1, total: 1, active: 1, idle: 0, waiting: 1 });
    expect(timeout.retryable).to.equal(true);
    expect(pool.stats()).to.include({ acquireTimeoutCount: 1, waiting: 0 });
    held.release();
    const next = await pool.acquire();
    expect(next.id).to.equal(held.id);
    next.release();
  });

  it('bounds the wait by acquireTimeout, not connectTimeout (which pg.Pool would apply to its queue)', async () => {
    // The waiter waits longer than connectTimeout for a free connection: it must be served.
    const pool = createPool(poolConfig(suite.db, { maxConns: 1, acquireTimeout: 20_000, connectTimeout: 1_000 }));
    pools.push(pool);
    const held = await pool.acquire();
    const waiter = pool.acquire();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    held.release();
    const served = await waiter;
    expect(served.id).to.equal(held.id);
    served.release();
    expect(pool.stats().acquireTimeoutCount).to.equal(0);
  });

  it('bounds one connect by connectTimeout: a server that never answers fails the acquisition with a connect error', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // accepts, never speaks
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const pool = createPool(poolConfig(suite.db, { host: '127.0.0.1', port, connectTimeout: 300, acquireTimeout: 30_000 }));
      pools.push(pool);
      const error = await failureOf(pool.acquire());
      expect(error).to.not.be.instanceOf(AcquireTimeoutError);
      expect(String((error as Error).message)).to.match(/timeout/i);
      expect(pool.stats()).to.include({ acquireErrorCount: 1, acquireTimeoutCount: 0, connectErrorCount: 1, total: 0 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('rejects an aborted wait with the signal reason and serves the next waiter', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1, acquireTimeout: 10_000 }));
    pools.push(pool);
    const held = await pool.acquire();
    const controller = new AbortController();
    const aborted = pool.acquire({ signal: controller.signal });
    const after = pool.acquire();
    await waitFor('two waiters', () => pool.stats().waiting === 2);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await failureOf(aborted)).to.equal(reason);
    expect(pool.stats()).to.include({ canceledAcquireCount: 1, waiting: 1 });
    held.release();
    const served = await after;
    expect(served.id).to.equal(held.id);
    served.release();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const pool = createPool(poolConfig(suite.db));
    pools.push(pool);
    const reason = new Error('already gone');
    expect(await failureOf(pool.acquire({ signal: AbortSignal.abort(reason) }))).to.equal(reason);
    expect(pool.stats()).to.include({ canceledAcquireCount: 1, total: 0 });
  });

  it('returns a connection that arrives after its acquisition was canceled to the pool', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }));
    pools.push(pool);
    const controller = new AbortController();
    const acquisition = pool.acquire({ signal: controller.signal }); // starts opening a connection
    controller.abort(new Error('too late'));
    expect(await failureOf(acquisition)).to.have.property('message', 'too late');
    await waitFor('the late connection to be idle in the pool', () => pool.stats().idle === 1);
    expect(pool.stats()).to.include({ total: 1, active: 0, createdCount: 1, canceledAcquireCount: 1 });
    // Both permits are free again: two connections can be borrowed at once.
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
    expect(pool.stats()).to.include({ total: 2, active: 2, createdCount: 2 });
    a?.release();
    b?.release();
  });

  it('counts an acquisition that fails to connect and frees its slot', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1, database: 'no_such_database_for_acquire' }));
    pools.push(pool);
    expect(await failureOf(pool.acquire())).to.have.property('code', '3D000');
    expect(await failureOf(pool.acquire())).to.have.property('code', '3D000'); // the slot was freed
    expect(pool.stats()).to.include({ acquireErrorCount: 2, connectErrorCount: 2, total: 0, active: 0, waiting: 0 });
  });
});
