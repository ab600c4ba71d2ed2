import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import { failureOf } from '../../support/failure.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, sleep } from './pool-test-kit.js';

describe('pool: a connection handed to a waiter whose wait had just ended', () => {
  const suite = poolSuite('pool late handoff');
  const pools = suite.pools;

  it('goes back idle as released now: its idle clock starts at the release, not when it was last idle', async () => {
    const config = poolConfig(suite.db, { minConns: 0, maxConns: 1, maxConnIdleTime: 3000, healthCheckPeriod: 50, maxConnLifetime: 0 });
    const pool = createPool(config, { name: 'late-handoff-idle' });
    pools.push(pool);
    const held = await pool.acquire();
    await sleep(3200); // borrowed longer than maxConnIdleTime
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const waiter = failureOf(pool.acquire({ signal: controller.signal }));
    controller.abort(reason); // the wait ends…
    held.release(); // …and, before the waiter resumes, the connection is handed to it
    expect(await waiter).to.equal(reason);
    expect(pool.stats()).to.include({ idle: 1, active: 0, waiting: 0, total: 1 });
    await sleep(300); // several housekeeping rounds, far within maxConnIdleTime of the release (2.7 s of margin for a loaded machine)
    expect(pool.stats().destroyedCount.idle).to.equal(0);
    expect(pool.stats()).to.include({ idle: 1, total: 1 });
    const again = await pool.acquire();
    expect(again.id).to.equal(held.id);
    again.release();
  });
});
