/**
 * Chaos: a pool of two connections, both held by slow statements. Further callers must fail with
 * `AcquireTimeoutError` describing the pool (its size, how many wait), nothing may deadlock, and
 * once the slow statements end by themselves the pool serves a burst of 50 concurrent queries.
 *
 * The slow statements sleep much longer than the acquire timeout (3 s against 500 ms), so the
 * waiters time out while both connections are still busy; durations are printed, never asserted.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase, exclusiveActive } from './support/chaos-database.js';
import { directConfigInput } from './support/chaos-kit.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { AcquireTimeoutError } from '../../src/errors/acquire-timeout-error.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import { failureOf } from '../support/failure.js';

const POOL_NAME = 'exhaustion';
const MAX_CONNS = 2;
const ACQUIRE_TIMEOUT_MS = 500;
const SLOW_SECONDS = 3;
const EXTRA_CALLERS = 5;
const BURST = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds (a state to wait for, not a speed to assert); fails after a generous bound. */
async function waitFor(description: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${description}`);
    await sleep(10);
  }
}

describe('chaos: pool exhaustion', function () {
  let server: EmbeddedServer | undefined;
  let database: Database<Record<string, never>> | undefined;

  before(async () => {
    server = await startEmbeddedPostgres();
  });

  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  after(async () => {
    await server?.stop();
  });

  it('fails extra callers with AcquireTimeoutError naming the pool size and the waiters, then recovers without deadlock', async () => {
    if (server === undefined) throw new Error('no server');
    database = chaosDatabase<Record<string, never>>(
      directConfigInput(server, { maxConns: MAX_CONNS, acquireTimeout: ACQUIRE_TIMEOUT_MS }),
      { env: {}, poolName: POOL_NAME },
    );
    const { db, pool } = database;

    const slowStarted = performance.now();
    // Each on a connection of its own (db.connection()), so that with multiplexing on (the suite's
    // second pass) they hold exclusive connections too: this scenario is about waiting for one.
    const slow = Array.from({ length: MAX_CONNS }, () =>
      db.connection().execute((connection) => sql<{ slept: string }>`select pg_sleep(${SLOW_SECONDS})::text as slept`.execute(connection)),
    );
    // Both connections are borrowed by the slow statements before anyone else asks.
    await waitFor('both connections borrowed', () => pool.stats().active === MAX_CONNS);

    const waitStarted = performance.now();
    const failures = await Promise.all(
      Array.from({ length: EXTRA_CALLERS }, () => failureOf(() => db.connection().execute((connection) => sql`select 1 as one`.execute(connection)))),
    );
    const waited = performance.now() - waitStarted;
    console.log(`      ${EXTRA_CALLERS} extra callers failed after ${Math.round(waited)} ms (acquire timeout ${ACQUIRE_TIMEOUT_MS} ms)`);
    const waitingSeen: number[] = [];
    for (const error of failures) {
      expect(error).to.be.instanceOf(AcquireTimeoutError);
      const timeout = error as AcquireTimeoutError;
      const { details } = timeout;
      expect(details).to.include({ poolName: POOL_NAME, timeoutMs: ACQUIRE_TIMEOUT_MS, max: MAX_CONNS, total: MAX_CONNS, active: MAX_CONNS, idle: 0 });
      // every extra caller waited at the same time: each saw itself and at most all the others
      expect(details.waiting).to.be.within(1, EXTRA_CALLERS);
      waitingSeen.push(details.waiting);
      expect(timeout.message)
        .to.include(`pool "${POOL_NAME}"`)
        .and.include(`${MAX_CONNS} of ${MAX_CONNS} connections in use`)
        .and.include(`${details.waiting} waiting`)
        .and.include(`${ACQUIRE_TIMEOUT_MS} ms`);
      expect(timeout.retryable).to.equal(true);
      expect(classifyError(error)).to.deep.include({ kind: 'timeout', code: 'ACQUIRE_TIMEOUT', connectionUsable: true });
    }
    console.log(`      waiting counts in the errors: ${waitingSeen.join(', ')}`);
    // the first to give up saw every extra caller still waiting
    expect(Math.max(...waitingSeen)).to.equal(EXTRA_CALLERS);
    expect(pool.stats()).to.include({ acquireTimeoutCount: EXTRA_CALLERS, waiting: 0, active: MAX_CONNS });

    // The slow statements were left alone and finish by themselves.
    const slept = await Promise.all(slow);
    console.log(`      slow statements finished after ${Math.round(performance.now() - slowStarted)} ms`);
    for (const result of slept) expect(result.rows).to.deep.equal([{ slept: '' }]);

    const burstStarted = performance.now();
    const burst = await Promise.allSettled(
      Array.from({ length: BURST }, (_, i) => sql<{ n: number }>`select ${i}::int as n`.execute(db)),
    );
    console.log(`      ${BURST} concurrent queries after recovery: ${Math.round(performance.now() - burstStarted)} ms`);
    const rejected = burst.filter((outcome) => outcome.status === 'rejected');
    expect(rejected, 'no query of the burst fails').to.deep.equal([]);
    burst.forEach((outcome, i) => {
      expect(outcome.status === 'fulfilled' ? outcome.value.rows : undefined).to.deep.equal([{ n: i }]);
    });
    const stats = pool.stats();
    expect(exclusiveActive(database)).to.equal(0);
    expect(stats).to.include({ waiting: 0, acquireTimeoutCount: EXTRA_CALLERS, acquireErrorCount: 0 });
    expect(stats.total).to.be.at.most(MAX_CONNS);
    expect(stats.destroyedCount.error).to.equal(0);
  });
});
