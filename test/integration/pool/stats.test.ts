import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import type { PooledConnection, PoolObserver } from '../../../src/pool/instrumented-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, waitFor } from './pool-test-kit.js';

describe('pool stats and observer', () => {
  const suite = poolSuite('pool stats');
  const pools = suite.pools;

  it('counts acquisitions, new connections and reuse after known work', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 3 }));
    pools.push(pool);
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect(pool.stats()).to.include({ total: 2, idle: 0, active: 2, waiting: 0, createdCount: 2, acquireCount: 2 });
    first.release();
    second.release();
    for (let i = 0; i < 5; i += 1) await pool.query('select 1');
    const stats = pool.stats();
    expect(stats).to.include({ total: 2, idle: 2, active: 0, waiting: 0, createdCount: 2, acquireCount: 7 });
    // The two first acquisitions found no idle connection; the five queries reused one.
    expect(stats.emptyAcquireCount).to.equal(2);
    expect(stats.acquireDurationSeconds).to.be.greaterThan(0);
    expect(stats.destroyedCount).to.deep.equal({ idle: 0, lifetime: 0, error: 0, shutdown: 0 });
  });

  it('gives connections monotonic ids, keeps an id across acquisitions, and reports the backend pid', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 3 }));
    pools.push(pool);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(b.id).to.equal(a.id + 1);
    const { rows } = await a.client.query<{ pid: number }>('select pg_backend_pid() as pid');
    expect(a.processId).to.equal(rows[0]?.pid);
    const aId = a.id;
    a.release();
    const again = await pool.acquire();
    expect(again.id).to.equal(aId);
    again.release();
    b.release();
  });

  it('counts waited acquisitions and shows waiters when over capacity', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 2 }));
    pools.push(pool);
    const held = [await pool.acquire(), await pool.acquire()];
    const waiters = [pool.acquire(), pool.acquire()];
    await waitFor('two waiters', () => pool.stats().waiting === 2);
    expect(pool.stats()).to.include({ total: 2, active: 2, idle: 0 });
    for (const connection of held) connection.release();
    const served: PooledConnection[] = await Promise.all(waiters);
    expect(pool.stats()).to.include({ waiting: 0, active: 2, acquireCount: 4, emptyAcquireCount: 4, createdCount: 2 });
    for (const connection of served) connection.release();
    expect(pool.stats()).to.include({ active: 0, idle: 2 });
  });

  it('calls every observer hook, and keeps working when the hooks throw', async () => {
    const calls: string[] = [];
    const throwing = (name: string) => (): void => {
      calls.push(name);
      throw new Error(`observer ${name} is broken`);
    };
    const observer: PoolObserver = {
      onAcquire: throwing('acquire'),
      onAcquireFailed: throwing('acquireFailed'),
      onRelease: throwing('release'),
      onConnect: throwing('connect'),
      onDestroy: throwing('destroy'),
    };
    const pool = createPool(poolConfig(suite.db, { maxConns: 1, acquireTimeout: 100 }), { observer });
    pools.push(pool);
    const connection = await pool.acquire();
    await pool.acquire().catch(() => undefined); // times out
    connection.release(new Error('Connection terminated unexpectedly')); // fatal: destroyed
    await waitFor('the destroy hook', () => calls.includes('destroy'));
    const result = await pool.query<{ one: number }>('select 1 as one');
    expect(result.rows).to.deep.equal([{ one: 1 }]);
    expect(new Set(calls)).to.deep.equal(new Set(['acquire', 'acquireFailed', 'release', 'connect', 'destroy']));
    expect(pool.stats()).to.include({ acquireCount: 2, acquireTimeoutCount: 1, createdCount: 2 });
  });
});
