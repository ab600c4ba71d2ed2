import { expect } from 'chai';
import { PoolClosedError } from '../../../src/errors/pool-closed-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { failureOf } from '../../support/failure.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, sleep, waitFor } from './pool-test-kit.js';

describe('pool: the fast path (an idle connection, a free permit, nobody waiting)', () => {
  const suite = poolSuite('pool fast path');
  const pools = suite.pools;

  it('rejects an acquisition taking the fast path with PoolClosedError when close() comes before pg.Pool hands the connection over', async () => {
    // (pg.Pool's end() leaves a queued checkout queued: only its connect timeout, if any, would end it)
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }), { name: 'fast-close' });
    pools.push(pool);
    (await pool.acquire()).release();
    expect(pool.stats().idle).to.equal(1);
    const acquiring = failureOf(pool.acquire()); // fast path: pg.Pool hands the idle connection over on its next tick
    const closing = pool.close({ timeoutMs: 2000 });
    expect(await acquiring).to.be.instanceOf(PoolClosedError);
    await closing;
    expect(pool.stats()).to.include({ total: 0, active: 0, waiting: 0 });
  });

  it('takes the fast path only while pg.Pool has an idle connection for it: the others wait (counted, timed, abortable) for a new one', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 3 }), { name: 'fast-idle-count' });
    pools.push(pool);
    (await pool.acquire()).release();
    expect(pool.stats().idle).to.equal(1);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const first = pool.acquire(); // takes the one idle connection
    const second = pool.acquire(); // pg.Pool must open a connection for it
    const third = pool.acquire({ signal: controller.signal });
    expect(pool.stats().waiting).to.equal(2);
    controller.abort(reason);
    expect(await failureOf(third)).to.equal(reason);
    const a = await first;
    const b = await second;
    expect(b.id).to.not.equal(a.id);
    a.release();
    b.release();
    expect(pool.stats()).to.include({ acquireCount: 3, emptyAcquireCount: 1, canceledAcquireCount: 1, active: 0, waiting: 0 });
  });

  it('counts an acquisition whose fast-path connection was expired as empty only if no other idle connection served it', async () => {
    const config = poolConfig(suite.db, { maxConns: 2, maxConnLifetime: 1500, maxConnLifetimeJitter: 0, healthCheckPeriod: 3_600_000 });
    const pool = createPool(config, { name: 'fast-expired' });
    pools.push(pool);
    const older = await pool.acquire();
    await sleep(1000);
    const newer = await pool.acquire();
    newer.release();
    older.release(); // on top of pg.Pool's idle list: the fast path takes it first
    await sleep(700); // the older one is past its lifetime, the newer one is not
    const before = pool.stats().emptyAcquireCount;
    const connection = await pool.acquire();
    expect(connection.id).to.equal(newer.id);
    connection.release();
    expect(pool.stats().emptyAcquireCount).to.equal(before);
    await waitFor('the expired connection closed', () => pool.stats().destroyedCount.lifetime === 1);
  });
});

