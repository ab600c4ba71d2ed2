import { expect } from 'chai';
import { PoolClosedError } from '../../../src/errors/pool-closed-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { failureOf } from '../../support/failure.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite } from './pool-test-kit.js';

describe('pool: a released connection goes straight to the first waiter', () => {
  const suite = poolSuite('pool handoff');
  const pools = suite.pools;

  it('hands the connection to the waiter in arrival order, without it passing through pg.Pool, and counts the wait', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1 }), { name: 'handoff' });
    pools.push(pool);
    const held = await pool.acquire();
    const first = pool.acquire();
    const second = pool.acquire();
    expect(pool.stats().waiting).to.equal(2);
    held.release();
    // handed over at once: pg.Pool never saw it idle
    expect(pool.stats()).to.include({ idle: 0, total: 1 });
    const a = await first;
    expect(a.id).to.equal(held.id);
    expect((await a.client.query<{ one: number }>('select 1 as one')).rows[0]?.one).to.equal(1);
    a.release();
    const b = await second;
    expect(b.id).to.equal(held.id);
    b.release();
    expect(pool.stats()).to.include({ idle: 1, active: 0, waiting: 0, total: 1 });
    expect(pool.stats().emptyAcquireCount).to.be.at.least(2);
  });

  it('closes a connection released broken instead of handing it over; the waiter gets a new one', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1 }), { name: 'handoff-broken' });
    pools.push(pool);
    const held = await pool.acquire();
    const waiter = pool.acquire();
    held.release(Object.assign(new Error('terminating connection'), { code: '57P01' }));
    const fresh = await waiter;
    expect(fresh.id).to.not.equal(held.id);
    expect((await fresh.client.query<{ one: number }>('select 1 as one')).rows[0]?.one).to.equal(1);
    fresh.release();
    expect(pool.stats().destroyedCount.error).to.equal(1);
  });

  it('gives back a connection handed over just before close(): the waiter gets PoolClosedError and close() ends', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 1 }), { name: 'handoff-close' });
    pools.push(pool);
    const held = await pool.acquire();
    const waiter = failureOf(pool.acquire());
    held.release();
    const closing = pool.close({ timeoutMs: 2000 });
    expect(await waiter).to.be.instanceOf(PoolClosedError);
    await closing;
    expect(pool.stats()).to.include({ total: 0, active: 0, waiting: 0 });
  });
});
