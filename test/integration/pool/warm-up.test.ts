import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite, waitFor } from './pool-test-kit.js';

describe('pool warm-up and minimum connections', () => {
  const suite = poolSuite('pool warm-up', { admin: true });
  const pools = suite.pools;

  it('opens minConns sessions at start, visible in pg_stat_activity under its application_name', async () => {
    const config = poolConfig(suite.db, { minConns: 3, maxConns: 5 });
    const pool = createPool(config);
    pools.push(pool);
    await pool.warmUp();
    expect(await suite.admin.sessions(config.applicationName)).to.have.length(3);
    const stats = pool.stats();
    expect(stats).to.include({ total: 3, idle: 3, active: 0, min: 3, max: 5, createdCount: 3, acquireCount: 0 });
  });

  it('warms up in the background without being awaited', async () => {
    const config = poolConfig(suite.db, { minConns: 2 });
    const pool = createPool(config);
    pools.push(pool);
    await waitFor('two sessions', async () => (await suite.admin.sessions(config.applicationName)).length === 2);
    await waitFor('two connections counted', () => pool.stats().createdCount === 2);
    expect(pool.stats()).to.include({ total: 2, idle: 2 });
  });

  it('reopens a lost connection to get back to minConns (housekeeping)', async () => {
    const config = poolConfig(suite.db, { minConns: 2, healthCheckPeriod: 50 });
    const pool = createPool(config);
    pools.push(pool);
    await pool.warmUp();
    const [victim] = await suite.admin.sessions(config.applicationName);
    expect(victim).to.be.a('number');
    await suite.admin.terminate(victim as number);
    await waitFor('the terminated session to be replaced', async () => {
      const pids = await suite.admin.sessions(config.applicationName);
      return pids.length === 2 && !pids.includes(victim as number);
    });
    await waitFor('the new connection to be counted', () => pool.stats().createdCount === 3);
    expect(pool.stats()).to.include({ idleErrorCount: 1, total: 2 });
  });

  it('reports a warm-up that cannot connect by rejecting warmUp(), and counts it, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const config = poolConfig(suite.db, { minConns: 2, database: 'no_such_database_for_warm_up' });
      const pool = createPool(config);
      pools.push(pool);
      let failure: unknown;
      await pool.warmUp().catch((error: unknown) => {
        failure = error;
      });
      expect(failure).to.have.property('code', '3D000'); // invalid_catalog_name
      await waitFor('the background warm-up to be counted too', () => pool.stats().connectErrorCount >= 2);
      expect(pool.stats().total).to.equal(0);
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
