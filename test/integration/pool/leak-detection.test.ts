import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { CapturingLogger, poolSuite, sleep, waitFor } from './pool-test-kit.js';

describe('pool leak detection', () => {
  const suite = poolSuite('pool leaks');
  const pools = suite.pools;

  it('warns once about a connection held past the threshold, and when it comes back; the first leak turns on stack recording', async () => {
    const logger = new CapturingLogger();
    const leaks: { connectionId: number; heldSeconds: number; stack: string | undefined; stackRecorded: boolean }[] = [];
    const pool = createPool(poolConfig(suite.db, { leakDetectionThreshold: 100 }), {
      logger,
      observer: { onLeak: (event) => void leaks.push(event) },
    });
    pools.push(pool);
    const connection = await pool.acquire();
    await waitFor('a leak warning', () => logger.find('warn', 'leak').length > 0);
    await sleep(300); // three more thresholds: still one warning
    const warnings = logger.find('warn', 'leak detection threshold');
    expect(warnings).to.have.length(1);
    expect(warnings[0]?.meta).to.include({ connectionId: connection.id, pool: 'default' });
    // Stacks are not recorded before the pool's first leak (they cost every acquisition).
    expect(warnings[0]?.meta).to.have.property('stack', undefined);
    expect(String(warnings[0]?.meta?.note)).to.include('recorded from the first leak');
    expect(pool.stats().leaksDetected).to.equal(1);
    expect(leaks).to.deep.equal([{ connectionId: connection.id, heldSeconds: leaks[0]?.heldSeconds, stack: undefined, stackRecorded: false }]);

    connection.release();
    expect(logger.find('warn', 'reported as leaked was returned')).to.have.length(1);
    // A returned leak is an ordinary connection again.
    expect(pool.stats()).to.include({ active: 0, idle: 1 });

    // The same leak again: now reported with the stack of the code that acquired the connection.
    const again = await pool.acquire();
    await waitFor('a second leak warning', () => logger.find('warn', 'leak detection threshold').length > 1);
    const second = logger.find('warn', 'leak detection threshold')[1];
    expect(String(second?.meta?.stack)).to.include('leak-detection.test');
    expect(second?.meta).not.to.have.property('note');
    expect(leaks[1]?.stack).to.include('leak-detection.test');
    expect(leaks[1]?.stackRecorded).to.equal(true);
    expect(pool.stats().leaksDetected).to.equal(2);
    again.release();
  });

  it("records stacks deep enough to reach the caller through Kysely, even with Node's default Error.stackTraceLimit", async () => {
    const logger = new CapturingLogger();
    const leaks: { stack: string | undefined }[] = [];
    const pool = createPool(poolConfig(suite.db, { leakDetectionThreshold: 100 }), {
      logger,
      observer: { onLeak: (event) => void leaks.push(event) },
    });
    pools.push(pool);
    const kysely = new Kysely<Record<string, never>>({ dialect: createDialect({ pool }) });
    // Held past the threshold by a slow statement; the acquisition is about ten frames below this
    // function in Kysely's call chain (executeTakeFirstOrThrow → … → driver → pool.acquire).
    const slowQuery = (): Promise<unknown> => kysely.selectNoFrom(sql<string>`pg_sleep(0.3)`.as('slept')).executeTakeFirstOrThrow();
    const limit = Error.stackTraceLimit; // mocha raises it to Infinity: test the default
    Error.stackTraceLimit = 10;
    try {
      await slowQuery(); // the first leak turns stack recording on
      await slowQuery();
      expect(Error.stackTraceLimit).to.equal(10); // raised for the capture only
    } finally {
      Error.stackTraceLimit = limit;
      await kysely.destroy(); // leaves the pool open (closed in afterEach)
    }
    expect(leaks).to.have.length(2);
    expect(leaks[0]?.stack).to.equal(undefined);
    expect(leaks[1]?.stack).to.include('leak-detection.test');
  });

  it('reports nothing more about a leaked connection that close() takes back', async () => {
    const logger = new CapturingLogger();
    const pool = createPool(poolConfig(suite.db, { leakDetectionThreshold: 100 }), { logger });
    const connection = await pool.acquire();
    await waitFor('a leak warning', () => logger.find('warn', 'leak detection threshold').length > 0);
    await pool.close({ timeoutMs: 50 });
    expect(logger.find('warn', 'not released before the close timeout')).to.have.length(1);
    expect(logger.find('warn', 'reported as leaked was returned')).to.deep.equal([]);
    connection.release(); // revoked: does nothing
    expect(logger.find('warn', 'reported as leaked was returned')).to.deep.equal([]);
  });

  it('stays silent for connections released in time, and when detection is off', async () => {
    const logger = new CapturingLogger();
    const on = createPool(poolConfig(suite.db, { leakDetectionThreshold: 5_000 }), { logger });
    const off = createPool(poolConfig(suite.db, { leakDetectionThreshold: 0 }), { logger });
    pools.push(on, off);
    const quick = await on.acquire();
    quick.release();
    const held = await off.acquire();
    await sleep(200);
    held.release();
    expect(logger.find('warn', 'leak')).to.deep.equal([]);
    expect(on.stats().leaksDetected + off.stats().leaksDetected).to.equal(0);
  });
});
