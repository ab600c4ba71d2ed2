import { expect } from 'chai';
import { sql } from 'kysely';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase, exclusiveActive } from './support/chaos-database.js';
import { CircuitOpenError } from '../../src/errors/circuit-open-error.js';
import type { CircuitStateChange } from '../../src/resilience/circuit-breaker.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import { startChaosServer, sleep, waitFor, type ChaosServer } from './support/chaos-kit.js';
import { elapsedMs, percentile, reportFigures } from './support/figures.js';

const HALF_OPEN_AFTER_MS = 500;

describe('chaos: the server stops and starts again', () => {
  let chaos: ChaosServer;
  let database: Database<unknown>;
  const changes: CircuitStateChange[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    chaos = await startChaosServer();
    database = chaosDatabase(chaos.configInput({ maxConns: 4, connectTimeout: 2000, acquireTimeout: 5000 }), {
      env: {},
      breaker: { threshold: 5, halfOpenAfterMs: HALF_OPEN_AFTER_MS },
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 50 },
      observer: { onCircuitStateChange: (change) => void changes.push(change) },
    });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await database?.close();
    await chaos?.stop();
  });

  it('opens the breaker while the server is down, fails fast, and is healthy again soon after the restart', async () => {
    const { db, pool, breaker } = database;
    await Promise.all(Array.from({ length: 4 }, () => sql`select 1`.execute(db)));

    await chaos.server.halt();
    const downFailures: unknown[] = [];
    const fastFailureMs: number[] = [];
    const downStarted = performance.now();
    // keep asking while down: at first the errors are the network's, then the breaker answers
    while (breaker?.state !== 'open' || fastFailureMs.length < 20) {
      const started = performance.now();
      try {
        await sql`select 1`.execute(db);
        expect.fail('a query succeeded while the server was down');
      } catch (error) {
        downFailures.push(error);
        if (error instanceof CircuitOpenError) fastFailureMs.push(performance.now() - started);
      }
      if (elapsedMs(downStarted) > 30_000) break;
      await sleep(10);
    }
    expect(breaker?.state).to.be.oneOf(['open', 'half-open']);
    expect(fastFailureMs.length, 'CircuitOpenError while down').to.be.at.least(20);
    for (const error of downFailures) {
      expect(classifyError(error).kind, String(error)).to.equal('connection');
    }
    const connectErrorsWhileOpen = pool.stats().connectErrorCount;

    const resumeStarted = performance.now();
    await chaos.server.resume();
    const serverUpMs = elapsedMs(resumeStarted);
    const upAt = performance.now();
    let firstSuccessMs = -1;
    await waitFor(
      async () => {
        try {
          await sql`select 1`.execute(db);
          firstSuccessMs = elapsedMs(upAt);
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 20, description: 'the first successful query after the restart' },
    );
    const healthy = await Promise.all(Array.from({ length: 20 }, () => sql<{ one: number }>`select 1 as one`.execute(db)));
    expect(healthy.every((r) => r.rows[0]?.one === 1)).to.equal(true);
    expect(breaker?.state).to.equal('closed');
    expect(exclusiveActive(database)).to.equal(0);
    expect(unhandled).to.deep.equal([]);
    expect(changes.map((c) => c.to)).to.include.members(['open', 'half-open', 'closed']);

    reportFigures('server-restart', {
      halfOpenAfterMs: HALF_OPEN_AFTER_MS,
      queriesWhileDown: downFailures.length,
      circuitOpenErrors: fastFailureMs.length,
      fastFailureP50Ms: Math.round(percentile(fastFailureMs, 0.5) * 1000) / 1000,
      fastFailureP99Ms: Math.round(percentile(fastFailureMs, 0.99) * 1000) / 1000,
      connectErrorsWhileOpen,
      serverStartMs: serverUpMs,
      recoveryAfterServerUpMs: firstSuccessMs,
      breakerTransitions: changes.map((c) => c.to).join(' > '),
    });
  });
});
