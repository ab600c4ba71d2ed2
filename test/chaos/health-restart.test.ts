/**
 * Chaos: the health checker's state machine through a server stop and start. A private server
 * (through the fault proxy) is halted while periodic checks run: the status must go healthy →
 * degraded (first failed checks) → unhealthy (failureThreshold failures in a row), and back to
 * healthy once the server is resumed, with status changes logged once each. How long each step
 * took is printed, never asserted.
 */
import { expect } from 'chai';
import { loadConfig } from '../../src/config/load-config.js';
import { createHealthChecker, type HealthChecker } from '../../src/observability/health-checker.js';
import type { HealthReport, HealthStatus } from '../../src/observability/health-types.js';
import type { Logger } from '../../src/observability/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../src/pool/instrumented-pool.js';
import { startChaosServer, waitFor, type ChaosServer } from './support/chaos-kit.js';
import { elapsedMs, reportFigures } from './support/figures.js';

const PERIOD_MS = 100;
const TIMEOUT_MS = 1000;
const FAILURE_THRESHOLD = 3;

describe('chaos: health checks through a server restart', () => {
  let chaos: ChaosServer | undefined;
  let pool: InstrumentedPool | undefined;
  let checker: HealthChecker | undefined;
  /** The status after every check, with when it was recorded (`performance.now()`). */
  const statuses: { status: HealthStatus; at: number }[] = [];
  const changes: { level: 'warn' | 'info'; from: unknown; to: unknown }[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  const logger: Logger = {
    error: () => undefined,
    warn: (message, meta) => void (message.startsWith('database health') && changes.push({ level: 'warn', from: meta?.from, to: meta?.to })),
    info: (message, meta) => void (message.startsWith('database health') && changes.push({ level: 'info', from: meta?.from, to: meta?.to })),
    debug: () => undefined,
  };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    chaos = await startChaosServer();
    const config = loadConfig({}, chaos.configInput({ maxConns: 2, connectTimeout: 1000, acquireTimeout: 2000 }), {
      onWarning: () => undefined,
    });
    pool = createPool(config, { name: 'health-restart' });
    checker = createHealthChecker({
      pool,
      periodMs: PERIOD_MS,
      timeoutMs: TIMEOUT_MS,
      failureThreshold: FAILURE_THRESHOLD,
      logger,
      metrics: { checked: () => undefined, status: (status) => void statuses.push({ status, at: performance.now() }) },
    });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await checker?.stop();
    await pool?.close({ timeoutMs: 1000 });
    await chaos?.stop();
  });

  /** Resolves to when the first status `status` recorded after index `from` was recorded. */
  async function firstStatus(status: HealthStatus, from: number, timeoutMs: number): Promise<number> {
    let at = -1;
    await waitFor(
      () => {
        at = statuses.slice(from).find((entry) => entry.status === status)?.at ?? -1;
        return at >= 0;
      },
      { timeoutMs, description: `health status ${status}` },
    );
    return at;
  }

  it('goes healthy → degraded → unhealthy while the server is down, and healthy again after it is back', async () => {
    if (!chaos || !pool || !checker) throw new Error('before() did not finish');
    checker.start();
    await firstStatus('healthy', 0, 20_000);

    // checks go on during halt() (which waits for the server to exit): count from before the call
    const fromHalt = statuses.length;
    const halted = performance.now();
    await chaos.server.halt();
    const haltDoneMs = elapsedMs(halted);
    const degradedAt = await firstStatus('degraded', fromHalt, 30_000);
    const unhealthyAt = await firstStatus('unhealthy', fromHalt, 30_000);
    const down: HealthReport = checker.report();
    expect(down.status).to.equal('unhealthy');
    expect(down.consecutiveFailures).to.be.at.least(FAILURE_THRESHOLD);
    expect(down.lastError).to.not.equal(null);
    expect(down.reasons[0]).to.match(/^\d+ consecutive checks failed \(last: .+\)$/);
    const afterHalt = statuses.slice(fromHalt).map((entry) => entry.status);
    const firstFailure = afterHalt.indexOf('degraded');
    expect(firstFailure).to.be.lessThan(afterHalt.indexOf('unhealthy'));
    expect(afterHalt.slice(firstFailure), 'never healthy again while down').to.not.include('healthy');

    const resumeStarted = performance.now();
    await chaos.server.resume();
    const serverUpMs = elapsedMs(resumeStarted);
    const fromResume = statuses.length;
    const healthyAt = await firstStatus('healthy', fromResume, 60_000);
    const up = checker.report();
    expect(up.status).to.equal('healthy');
    expect(up).to.include({ consecutiveFailures: 0, lastError: null });

    // every change logged once: worse at warn, better at info
    const worse = changes.filter((change) => change.level === 'warn').map((change) => `${String(change.from)}>${String(change.to)}`);
    expect(worse).to.include.members(['healthy>degraded', 'degraded>unhealthy']);
    expect(changes.at(-1)).to.include({ level: 'info', to: 'healthy' });
    expect(unhandled).to.deep.equal([]);

    await checker.stop();
    const sequence = statuses.map((entry) => entry.status).filter((status, i, all) => i === 0 || all[i - 1] !== status);
    expect(sequence[0]).to.equal('healthy');
    expect(changes, 'one log line per status change, none for repeated statuses').to.have.length(sequence.length - 1);
    reportFigures('health-restart', {
      periodMs: PERIOD_MS,
      timeoutMs: TIMEOUT_MS,
      failureThreshold: FAILURE_THRESHOLD,
      haltMs: haltDoneMs,
      haltToDegradedMs: Math.round(degradedAt - halted),
      haltToUnhealthyMs: Math.round(unhealthyAt - halted),
      checksWhileDown: fromResume - fromHalt,
      serverStartMs: serverUpMs,
      resumeToHealthyMs: Math.round(healthyAt - resumeStarted),
      serverUpToHealthyMs: Math.round(healthyAt - (resumeStarted + serverUpMs)),
      statusSequence: sequence.join(' > '),
      loggedChanges: changes.length,
    });
  });
});
