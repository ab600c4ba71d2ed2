import { expect } from 'chai';
import { sql } from 'kysely';
import type { Database } from '../../src/database/create-database.js';
import { CHAOS_MULTIPLEX, chaosDatabase } from './support/chaos-database.js';
import { AcquireTimeoutError } from '../../src/errors/acquire-timeout-error.js';
import { CircuitOpenError } from '../../src/errors/circuit-open-error.js';
import { QueryTimeoutError } from '../../src/errors/query-timeout-error.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import { startChaosServer, waitFor, type ChaosServer } from './support/chaos-kit.js';
import { elapsedMs, reportFigures } from './support/figures.js';

interface Schema {
  item: { id: number };
}

const QUERY_TIMEOUT_MS = 500;
const CANCEL_GRACE_MS = 500;

describe('chaos: the network swallows everything (blackhole)', () => {
  let chaos: ChaosServer;
  let database: Database<Schema>;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    chaos = await startChaosServer();
    await chaos.admin((client) => client.query('create table item (id int primary key); insert into item select generate_series(1, 10)'));
    database = chaosDatabase<Schema>(chaos.configInput({ maxConns: 4, connectTimeout: 1000, acquireTimeout: 2000 }), {
      env: {},
      queryTimeoutMs: QUERY_TIMEOUT_MS,
      cancelGraceMs: CANCEL_GRACE_MS,
      breaker: { threshold: 3, halfOpenAfterMs: 300 },
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 50 },
      // no periodic health check, and one shared connection in the multiplexed pass: every
      // connection open must be one the statements below reach (see the test)
      health: false,
      multiplex: { connections: 1 },
    });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await database?.close();
    await chaos?.stop();
  });

  it('ends queries at their deadline instead of hanging, closes the swallowed connections, and recovers once healed', async () => {
    const { db, pool } = database;
    // Live connections, each opened by a statement of its own (db.connection()), so that the
    // blackhole catches statements in flight on all of them: the proxy leaves every connection it
    // swallowed broken for good, so one the statements never reach would stay in the pool, broken.
    // Four; with multiplexing (the suite's second pass), the one it shares.
    const live = CHAOS_MULTIPLEX ? 1 : 4;
    await Promise.all(Array.from({ length: live }, () => db.connection().execute((connection) => sql`select pg_sleep(0.05)`.execute(connection))));
    expect(pool.stats().total).to.equal(live);

    chaos.proxy.setMode('blackhole');
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, async () => {
        const begun = performance.now();
        try {
          await db.selectFrom('item').select('id').where('id', '=', 1).execute();
          return { ok: true as const, ms: elapsedMs(begun) };
        } catch (error) {
          return { ok: false as const, ms: elapsedMs(begun), error };
        }
      }),
    );
    const settledAllMs = elapsedMs(started);
    const results = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : { ok: false as const, ms: -1, error: o.reason as unknown }));
    const failures = results.filter((r) => !r.ok).map((r) => (r as { error: unknown }).error);
    expect(failures, 'nothing can succeed through a blackhole').to.have.length(8);
    for (const error of failures) {
      const typed =
        error instanceof QueryTimeoutError ||
        error instanceof CircuitOpenError ||
        error instanceof AcquireTimeoutError ||
        classifyError(error).kind === 'connection';
      expect(typed, String(error)).to.equal(true);
    }
    const timeouts = failures.filter((e) => e instanceof QueryTimeoutError).length;
    expect(timeouts, 'statements caught in flight ended at their deadline').to.be.greaterThan(0);

    // the swallowed connections are closed once the cancel grace has passed (the cancel cannot get
    // through either); with multiplexing, the timed-out statements shared a few connections
    const swallowed = CHAOS_MULTIPLEX ? 1 : timeouts;
    await waitFor(() => pool.stats().destroyedCount.error >= swallowed, { timeoutMs: 30_000, description: 'the swallowed connections to be closed' });

    chaos.proxy.setMode('pass');
    const healedAt = performance.now();
    let recoveryMs = -1;
    await waitFor(
      async () => {
        try {
          await db.selectFrom('item').select('id').where('id', '=', 2).execute();
          recoveryMs = elapsedMs(healedAt);
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 20, description: 'the first successful query after healing' },
    );
    for (let i = 0; i < 20; i += 1) {
      expect(await db.selectFrom('item').select('id').where('id', '=', 3).execute()).to.deep.equal([{ id: 3 }]);
    }
    // with multiplexing, the shared connections stay lent to the multiplexer (at most one per slot)
    const lentToMultiplexer = database.multiplexStats()?.inFlight.length ?? 0;
    await waitFor(() => pool.stats().active <= lentToMultiplexer, { description: 'every connection back' });
    expect(unhandled).to.deep.equal([]);

    reportFigures('blackhole', {
      queryTimeoutMs: QUERY_TIMEOUT_MS,
      cancelGraceMs: CANCEL_GRACE_MS,
      connectTimeoutMs: 1000,
      queries: results.length,
      queryTimeouts: timeouts,
      otherFailures: failures.map((e) => (e instanceof Error ? e.constructor.name : typeof e)).filter((n) => n !== 'QueryTimeoutError'),
      slowestFailureMs: Math.max(...results.map((r) => r.ms)),
      allSettledMs: settledAllMs,
      closedConnections: pool.stats().destroyedCount.error,
      recoveryAfterHealMs: recoveryMs,
    });
  });
});
