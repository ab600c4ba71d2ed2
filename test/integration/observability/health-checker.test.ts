import { expect } from 'chai';
import { createHealthChecker, HEALTH_CHECK_TIMEOUT_CODE, type HealthChecker } from '../../../src/observability/health-checker.js';
import type { HealthMetricsSink, HealthStatus } from '../../../src/observability/health-types.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool, PooledConnection } from '../../../src/pool/instrumented-pool.js';
import { createCircuitBreaker, type CircuitBreaker, type CircuitState } from '../../../src/resilience/circuit-breaker.js';
import { poolConfig } from '../../support/pool-config.js';
import { CapturingLogger, poolSuite, sleep, waitFor } from '../pool/pool-test-kit.js';

/** A metrics sink that keeps every call. */
class RecordingSink implements HealthMetricsSink {
  readonly checks: { durationSeconds: number; ok: boolean }[] = [];
  readonly statuses: HealthStatus[] = [];
  checked(durationSeconds: number, ok: boolean): void {
    this.checks.push({ durationSeconds, ok });
  }
  status(status: HealthStatus): void {
    this.statuses.push(status);
  }
}

/** Just enough of a CircuitBreaker: a state the test sets. */
function fakeBreaker(initial: CircuitState): CircuitBreaker & { state: CircuitState } {
  return {
    name: 'fake',
    state: initial,
    retryAfterMs: () => 0,
    onStateChange: () => () => undefined,
    execute: (work) => work(),
  };
}

/** A query that fails (division by zero) while the table `health_switch` is empty, and returns 1 once it has a row. */
const SWITCHED_QUERY = 'select 1 / (select count(*)::int from health_switch) as one';

describe('health checker', () => {
  const suite = poolSuite('health checker');
  const checkers: HealthChecker[] = [];
  const held: PooledConnection[] = [];

  function pool(overrides: Parameters<typeof poolConfig>[1] = {}): InstrumentedPool {
    const created = createPool(poolConfig(suite.db, { maxConns: 3, ...overrides }));
    suite.pools.push(created);
    return created;
  }

  /** Makes the switched query fail (`on = false`) or succeed. */
  async function setSwitch(on: boolean): Promise<void> {
    const admin = pool({ maxConns: 1 });
    await admin.query('create table if not exists health_switch (x int)');
    await admin.query('delete from health_switch');
    if (on) await admin.query('insert into health_switch values (1)');
  }

  afterEach(async () => {
    await Promise.all(checkers.splice(0).map((checker) => checker.stop()));
    for (const connection of held.splice(0)) connection.release();
  });

  it('reports healthy after a check, with latency figures and the pool snapshot', async () => {
    const target = pool();
    const checker = createHealthChecker({ pool: target });
    checkers.push(checker);
    const report = await checker.check();
    expect(report.status).to.equal('healthy');
    expect(report.reasons).to.deep.equal([]);
    expect(report.consecutiveFailures).to.equal(0);
    expect(report.lastError).to.equal(null);
    expect(report.breaker).to.equal(null);
    expect(Date.parse(report.checkedAt ?? '')).to.be.a('number').and.not.NaN;
    const { acquireMs, queryMs, totalMs } = report.latency;
    for (const figure of [acquireMs, queryMs, totalMs]) expect(figure).to.be.a('number').and.at.least(0);
    expect(totalMs).to.be.at.least(Math.max(acquireMs ?? 0, queryMs ?? 0));
    expect(report.pool).to.deep.equal({ total: 0, idle: 0, active: 0, waiting: 0, max: 3 }); // sampled before the check's own acquire
    expect(target.stats()).to.include({ active: 0, total: 1, idle: 1 });
    // the latest report, frozen through and through
    expect(checker.report()).to.equal(report);
    expect(Object.isFrozen(report) && Object.isFrozen(report.reasons) && Object.isFrozen(report.latency) && Object.isFrozen(report.pool)).to.equal(true);
    // JSON-ready
    expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
  });

  it('reports "not checked yet" (unhealthy) before the first check', () => {
    const checker = createHealthChecker({ pool: pool() });
    const report = checker.report();
    expect(report).to.include({ status: 'unhealthy', checkedAt: null, consecutiveFailures: 0, lastError: null });
    expect(report.reasons).to.deep.equal(['not checked yet']);
    expect(report.latency).to.deep.equal({ acquireMs: null, queryMs: null, totalMs: null });
    expect(checker.running).to.equal(false);
  });

  it('reports degraded when a check is slow', async () => {
    const checker = createHealthChecker({ pool: pool(), query: 'select pg_sleep(0.3)', slowCheckMs: 100 });
    const report = await checker.check();
    expect(report.status).to.equal('degraded');
    expect(report.reasons).to.have.length(1);
    expect(report.reasons[0]).to.match(/^check took \d+ ms \(slow above 100 ms\)$/);
    expect(report.lastError).to.equal(null);
  });

  it('goes degraded, then unhealthy at failureThreshold failures in a row, then healthy again', async () => {
    await setSwitch(false);
    const checker = createHealthChecker({ pool: pool(), query: SWITCHED_QUERY, failureThreshold: 3 });
    const first = await checker.check();
    expect(first).to.include({ status: 'degraded', consecutiveFailures: 1 });
    expect(first.lastError).to.deep.equal({ message: 'division by zero', code: '22012' });
    expect(first.reasons).to.deep.equal(['last check failed (1 of 3 failures before unhealthy): division by zero']);
    expect(first.latency.acquireMs).to.be.a('number');
    expect(first.latency.queryMs).to.equal(null);
    expect((await checker.check()).status).to.equal('degraded');
    const third = await checker.check();
    expect(third).to.include({ status: 'unhealthy', consecutiveFailures: 3 });
    expect(third.reasons).to.deep.equal(['3 consecutive checks failed (last: division by zero)']);
    expect((await checker.check()).consecutiveFailures).to.equal(4);

    await setSwitch(true);
    const recovered = await checker.check();
    expect(recovered).to.include({ status: 'healthy', consecutiveFailures: 0, lastError: null });
    expect(recovered.reasons).to.deep.equal([]);
  });

  it('fails a check whose query outlives timeoutMs, and has the pool destroy that connection', async () => {
    const target = pool();
    const checker = createHealthChecker({ pool: target, query: 'select pg_sleep(2)', timeoutMs: 200 });
    const report = await checker.check();
    expect(report).to.include({ status: 'degraded', consecutiveFailures: 1 });
    expect(report.lastError).to.deep.equal({ message: 'health check did not finish within 200 ms', code: HEALTH_CHECK_TIMEOUT_CODE });
    expect(report.latency.acquireMs).to.be.a('number');
    expect(report.latency.queryMs).to.equal(null);
    await waitFor('the timed-out connection destroyed', () => target.stats().destroyedCount.error === 1);
    expect(target.stats()).to.include({ active: 0 });
  });

  it('fails a check that cannot get a connection within timeoutMs, and reports the saturated pool', async () => {
    const target = pool({ maxConns: 2, acquireTimeout: 30_000 });
    held.push(await target.acquire(), await target.acquire());
    const waiter = new AbortController();
    const waiting = target.acquire({ signal: waiter.signal }).catch(() => undefined);
    await waitFor('one caller waiting', () => target.stats().waiting === 1);
    const checker = createHealthChecker({ pool: target, timeoutMs: 200, failureThreshold: 10, saturatedChecks: 2 });

    const first = await checker.check();
    expect(first.lastError?.code).to.equal(HEALTH_CHECK_TIMEOUT_CODE);
    expect(first.latency.acquireMs).to.equal(null);
    expect(first.reasons).to.have.length(1); // saturated once: not yet a reason
    const second = await checker.check();
    expect(second.status).to.equal('degraded');
    expect(second.reasons).to.include('pool saturated: 2 of 2 connections in use, 1 waiting');
    expect(second.pool).to.deep.equal({ total: 2, idle: 0, active: 2, waiting: 1, max: 2 });

    waiter.abort();
    await waiting;
    for (const connection of held.splice(0)) connection.release();
    const after = await checker.check();
    expect(after.status).to.equal('healthy');
    expect(after.reasons).to.deep.equal([]);
  });

  it('reports degraded for saturation alone when the pool stays at saturationRatio for saturatedChecks checks', async () => {
    const target = pool({ maxConns: 2 });
    held.push(await target.acquire());
    const checker = createHealthChecker({ pool: target, saturationRatio: 0.5, saturatedChecks: 2 });
    expect((await checker.check()).status).to.equal('healthy');
    const second = await checker.check();
    expect(second.status).to.equal('degraded');
    expect(second.reasons).to.deep.equal(['pool saturated: 1 of 2 connections in use, 0 waiting']);
    expect(second.lastError).to.equal(null);
  });

  it('follows the breaker: open is unhealthy (while checks keep probing), half-open degraded', async () => {
    const breaker = fakeBreaker('closed');
    const checker = createHealthChecker({ pool: pool(), breaker });
    expect(await checker.check()).to.include({ status: 'healthy', breaker: 'closed' });

    breaker.state = 'open';
    const open = await checker.check();
    expect(open).to.include({ status: 'unhealthy', breaker: 'open', consecutiveFailures: 0 });
    expect(open.reasons).to.deep.equal(['circuit breaker open']);
    expect(open.latency.queryMs, 'the check still ran its query').to.be.a('number');

    breaker.state = 'half-open';
    const halfOpen = await checker.check();
    expect(halfOpen).to.include({ status: 'degraded', breaker: 'half-open' });
    expect(halfOpen.reasons).to.deep.equal(['circuit breaker half-open (probing whether the database is back)']);

    breaker.state = 'closed';
    expect((await checker.check()).status).to.equal('healthy');
  });

  it('reads the state of a real circuit breaker', async () => {
    const breaker = createCircuitBreaker({ threshold: 1, halfOpenAfterMs: 60_000 });
    const checker = createHealthChecker({ pool: pool(), breaker });
    expect((await checker.check()).status).to.equal('healthy');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    await breaker.execute(() => Promise.reject(refused)).catch(() => undefined);
    expect(breaker.state).to.equal('open');
    const report = await checker.check();
    expect(report).to.include({ status: 'unhealthy', breaker: 'open' });
    expect(report.reasons).to.deep.equal(['circuit breaker open']);
  });

  it('reports unhealthy once the pool is closed', async () => {
    const target = pool();
    const checker = createHealthChecker({ pool: target });
    await checker.check();
    await target.close();
    const report = await checker.check();
    expect(report.status).to.equal('unhealthy');
    expect(report.reasons[0]).to.equal('pool is closed');
    expect(report.lastError?.code).to.equal('POOL_CLOSED');
  });

  it('tells the metrics sink about every check and the status after it', async () => {
    await setSwitch(true);
    const sink = new RecordingSink();
    const checker = createHealthChecker({ pool: pool(), metrics: sink, query: SWITCHED_QUERY });
    await checker.check();
    await setSwitch(false);
    await checker.check();
    expect(sink.checks.map((c) => c.ok)).to.deep.equal([true, false]);
    for (const { durationSeconds } of sink.checks) expect(durationSeconds).to.be.a('number').and.at.least(0);
    expect(sink.statuses).to.deep.equal(['healthy', 'degraded']);
  });

  it('keeps checking when the metrics sink and the logger throw', async () => {
    const throwing = (): never => {
      throw new Error('sink is broken');
    };
    const logger = new CapturingLogger();
    const checker = createHealthChecker({ pool: pool(), metrics: { checked: throwing, status: throwing }, logger });
    expect((await checker.check()).status).to.equal('healthy');
    expect((await checker.check()).status).to.equal('healthy');
    expect(logger.find('warn', 'health metrics sink threw')).to.have.length(2); // once per method

    const throwingLogger = { error: throwing, warn: throwing, info: throwing, debug: throwing };
    const failing = createHealthChecker({ pool: pool(), logger: throwingLogger, query: 'select 1/0' });
    expect((await failing.check()).status, 'a status change logged to a throwing logger').to.equal('degraded');
  });

  it('logs status changes only: warn when worse, info when better', async () => {
    await setSwitch(true);
    const logger = new CapturingLogger();
    const checker = createHealthChecker({ pool: pool(), logger, query: SWITCHED_QUERY, failureThreshold: 2 });
    await checker.check();
    await checker.check();
    expect(logger.entries, 'healthy checks log nothing').to.deep.equal([]);
    await setSwitch(false);
    await checker.check(); // degraded
    await checker.check(); // unhealthy
    await checker.check(); // still unhealthy
    await setSwitch(true);
    await checker.check(); // healthy
    await checker.check();
    expect(logger.entries.map((entry) => [entry.level, entry.meta?.from, entry.meta?.to])).to.deep.equal([
      ['warn', 'healthy', 'degraded'],
      ['warn', 'degraded', 'unhealthy'],
      ['info', 'unhealthy', 'healthy'],
    ]);
    expect(logger.entries[1]?.meta?.reasons).to.deep.equal(['2 consecutive checks failed (last: division by zero)']);
    expect(logger.entries[1]?.meta?.error).to.deep.equal({ message: 'division by zero', code: '22012' });
  });

  it('checks periodically between start() and stop()', async () => {
    const sink = new RecordingSink();
    const checker = createHealthChecker({ pool: pool(), metrics: sink, periodMs: 20 });
    checkers.push(checker);
    checker.start();
    checker.start(); // idempotent
    expect(checker.running).to.equal(true);
    await waitFor('five periodic checks', () => sink.checks.length >= 5);
    await checker.stop();
    await checker.stop(); // idempotent
    expect(checker.running).to.equal(false);
    const count = sink.checks.length;
    await sleep(150);
    expect(sink.checks.length, 'no check after stop()').to.equal(count);
    expect(checker.report().status).to.equal('healthy');
    // check() still works after stop()
    await checker.check();
    expect(sink.checks.length).to.equal(count + 1);
  });

  it('ends the check in flight in stop() at once, without recording it, and closes its connection', async () => {
    const target = pool();
    const sink = new RecordingSink();
    const checker = createHealthChecker({ pool: target, metrics: sink, query: 'select pg_sleep(30)', slowCheckMs: 60_000, timeoutMs: 60_000 });
    const before = checker.report(); // 'not checked yet'
    checker.start(); // the first periodic check starts at once and would sleep 30 s
    await waitFor('the check to hold a connection', () => target.stats().active === 1);
    // stop() does not wait for the 30 s sleep (the mocha timeout is shorter)
    await checker.stop();
    expect(checker.report(), 'the ended check changed nothing').to.deep.equal(before);
    expect(sink.checks, 'the ended check was not recorded').to.have.length(0);
    await waitFor('the connection to be released', () => target.stats().active === 0);
  });

  it('shares one check among concurrent check() calls', async () => {
    const target = pool();
    const sink = new RecordingSink();
    const checker = createHealthChecker({ pool: target, metrics: sink, query: 'select pg_sleep(0.1)' });
    const before = target.stats().acquireCount;
    const reports = await Promise.all(Array.from({ length: 5 }, () => checker.check()));
    expect(new Set(reports).size).to.equal(1);
    expect(sink.checks).to.have.length(1);
    expect(target.stats().acquireCount - before).to.equal(1);
    // the next call after that starts a new check
    expect(await checker.check()).to.not.equal(reports[0]);
  });

  it('rejects invalid options with a TypeError naming the option', () => {
    const target = pool();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /health\.pool/],
      [{ pool: target, periodMs: 0 }, /health\.periodMs/],
      [{ pool: target, timeoutMs: 1.5 }, /health\.timeoutMs/],
      [{ pool: target, failureThreshold: 0 }, /health\.failureThreshold/],
      [{ pool: target, slowCheckMs: -1 }, /health\.slowCheckMs/],
      [{ pool: target, saturationRatio: 0 }, /health\.saturationRatio/],
      [{ pool: target, saturationRatio: 1.5 }, /health\.saturationRatio/],
      [{ pool: target, saturatedChecks: '2' }, /health\.saturatedChecks/],
      [{ pool: target, query: ' ' }, /health\.query/],
      [{ pool: target, metrics: {} }, /health\.metrics/],
      [{ pool: target, logger: {} }, /health\.logger/],
      [{ pool: target, breaker: 'open' }, /health\.breaker/],
    ];
    for (const [options, message] of cases) {
      expect(() => createHealthChecker(options as never), JSON.stringify(Object.keys(options))).to.throw(TypeError, message);
    }
  });
});
