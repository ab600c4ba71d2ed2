import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool, PooledConnection } from '../../../src/pool/instrumented-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, sleep, waitFor } from './pool-test-kit.js';

describe('pool idle eviction and connection lifetime', () => {
  const suite = poolSuite('pool eviction', { admin: true });
  const pools = suite.pools;

  async function acquireMany(pool: InstrumentedPool, count: number): Promise<PooledConnection[]> {
    return Promise.all(Array.from({ length: count }, () => pool.acquire()));
  }

  it('closes connections idle longer than maxConnIdleTime, down to minConns', async () => {
    const config = poolConfig(suite.db, { minConns: 1, maxConns: 4, maxConnIdleTime: 200, healthCheckPeriod: 50, maxConnLifetime: 0 });
    const pool = createPool(config);
    pools.push(pool);
    const held = await acquireMany(pool, 4);
    expect(pool.stats().total).to.equal(4);
    for (const connection of held) connection.release();
    await waitFor('idle connections to be evicted down to minConns', () => pool.stats().total === 1);
    await waitFor('the removals to be counted', () => pool.stats().destroyedCount.idle === 3);
    await waitFor('one session left on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 1);
    expect(pool.stats().destroyedCount).to.deep.include({ lifetime: 0, error: 0 });
    // The survivor works.
    expect((await pool.query<{ one: number }>('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('measures idle time from the last release: the connection used last outlives one idle longer', async () => {
    // No timing assumption. The sweep closes the connection idle longest first and never goes
    // below minConns (1), so exactly one of the two is evicted, whatever the machine's pauses.
    // `used` is opened first and released last: only an idle clock that restarts at each release
    // makes it the younger one (measured from the connect, it would be the older one).
    const config = poolConfig(suite.db, { minConns: 1, maxConns: 2, maxConnIdleTime: 50, healthCheckPeriod: 20, maxConnLifetime: 0 });
    const pool = createPool(config);
    pools.push(pool);
    await pool.warmUp();
    const used = await pool.acquire(); // the warm-up's connection
    const unused = await pool.acquire(); // opened now
    expect(unused.id).to.be.greaterThan(used.id);
    // Neither can be evicted while borrowed; `used` does its work.
    for (let i = 0; i < 5; i += 1) await used.client.query('select 1');
    unused.release();
    await sleep(1); // only makes the two release times differ: any longer pause changes nothing
    used.release();
    await waitFor('one connection to be evicted', () => pool.stats().destroyedCount.idle === 1);
    await waitFor('one session left on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 1);
    expect(await suite.admin.sessions(config.applicationName)).to.deep.equal([used.processId]);
    const again = await pool.acquire();
    expect(again.id).to.equal(used.id);
    again.release();
    expect(pool.stats().destroyedCount).to.deep.equal({ idle: 1, lifetime: 0, error: 0, shutdown: 0 });
  });

  it('gives each connection a lifetime within [maxConnLifetime - jitter, maxConnLifetime]', async () => {
    const pool = createPool(poolConfig(suite.db, { maxConns: 8, maxConnLifetime: 60_000, maxConnLifetimeJitter: 20_000 }));
    pools.push(pool);
    const held = await acquireMany(pool, 8);
    const lifetimes = held.map((connection) => connection.lifetimeMs);
    for (const connection of held) connection.release();
    for (const lifetime of lifetimes) expect(lifetime).to.be.within(40_000, 60_000);
    expect(new Set(lifetimes).size).to.be.greaterThan(1); // jitter is random per connection
  });

  it('replaces an idle connection past its lifetime: the backend pid changes', async () => {
    const config = poolConfig(suite.db, { minConns: 1, maxConns: 2, maxConnLifetime: 300, maxConnLifetimeJitter: 100, healthCheckPeriod: 50 });
    const pool = createPool(config);
    pools.push(pool);
    await pool.warmUp();
    const [firstPid] = await suite.admin.sessions(config.applicationName);
    await waitFor('the first session to be recycled', async () => {
      const pids = await suite.admin.sessions(config.applicationName);
      return pids.length === 1 && pids[0] !== firstPid;
    });
    await waitFor('the recycling to be counted', () => pool.stats().destroyedCount.lifetime >= 1);
    const connection = await pool.acquire();
    expect(connection.processId).to.not.equal(firstPid);
    connection.release();
  });

  it('closes a borrowed connection past its lifetime when it is released, not while in use', async () => {
    // Housekeeping is far away: only the release path acts.
    const config = poolConfig(suite.db, { maxConns: 2, maxConnLifetime: 300, maxConnLifetimeJitter: 0, healthCheckPeriod: 3_600_000 });
    const pool = createPool(config);
    pools.push(pool);
    const connection = await pool.acquire();
    const pid = connection.processId;
    await sleep(400);
    // Still usable while borrowed.
    expect((await connection.client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
    connection.release();
    await waitFor('the expired connection to be closed', () => pool.stats().destroyedCount.lifetime === 1);
    const next = await pool.acquire();
    expect(next.processId).to.not.equal(pid);
    next.release();
    await waitFor('one session left on the server', async () => (await suite.admin.sessions(config.applicationName)).length === 1);
  });

  it('does not hand out an idle connection past its lifetime even before housekeeping runs', async () => {
    const config = poolConfig(suite.db, { maxConns: 2, maxConnLifetime: 300, maxConnLifetimeJitter: 0, healthCheckPeriod: 3_600_000 });
    const pool = createPool(config);
    pools.push(pool);
    const connection = await pool.acquire();
    const pid = connection.processId;
    connection.release();
    await sleep(400);
    const next = await pool.acquire();
    expect(next.processId).to.not.equal(pid);
    next.release();
    await waitFor('the expired connection to be counted', () => pool.stats().destroyedCount.lifetime === 1);
  });
});
