/**
 * The database health checker: a periodic (or on-demand) probe through the pool that turns the
 * probe's outcome, the circuit breaker's state and the pool's saturation into one
 * {@link HealthReport}. The HTTP handlers in `http-handlers.ts` serve those reports.
 */
import { ConnectionError } from '../errors/connection-error.js';
import type { InstrumentedPool, PooledConnection } from '../pool/instrumented-pool.js';
import type { CircuitBreaker, CircuitState } from '../resilience/circuit-breaker.js';
import type { HealthMetricsSink, HealthPoolSnapshot, HealthReport, HealthStatus } from './health-types.js';
import { silentLogger, type Logger } from './logger.js';

/** Checks the database on demand or periodically. See {@link createHealthChecker}. */
export interface HealthChecker {
  /**
   * Runs one check now and resolves to the new report. Concurrent calls share the check in
   * flight (one acquisition, one query). Never rejects: a failed check is recorded in the report.
   */
  check(): Promise<HealthReport>;
  /**
   * The latest report, without checking. Before the first check has ended: status `unhealthy`
   * with the reason `not checked yet` and `checkedAt: null` (nothing proves the database works
   * yet, so a readiness probe must not pass).
   */
  report(): HealthReport;
  /** Starts periodic checks every `periodMs`, the first one at once. Idempotent. The timer is `unref()`ed. */
  start(): void;
  /** Stops periodic checks and waits for a check in flight. Idempotent. `check()` still works afterwards. */
  stop(): Promise<void>;
  /** True between `start()` and `stop()`. */
  readonly running: boolean;
}

/** Options of {@link createHealthChecker}. */
export interface HealthCheckerOptions {
  /** The pool to probe. A check borrows a connection from it with `acquire({ signal })`. */
  readonly pool: InstrumentedPool;
  /**
   * The breaker guarding the application's queries (`Database.breaker`). Only its `state` is
   * read: checks do not go through it, so they keep probing the server while it is open.
   */
  readonly breaker?: CircuitBreaker;
  /** Period of `start()`'s checks, in milliseconds. Default: the pool's `healthCheckPeriodMs` (30 s). */
  readonly periodMs?: number;
  /** Milliseconds within which acquiring the connection and running the query must both end. Default 5000. */
  readonly timeoutMs?: number;
  /** Consecutive failed checks that make the status `unhealthy` (fewer make it `degraded`). Default 3. */
  readonly failureThreshold?: number;
  /** A successful check that took longer than this many milliseconds makes the status `degraded`. Default 1000. */
  readonly slowCheckMs?: number;
  /** Share of `maxConns` in use (active / max) at or above which the pool counts as saturated. Default 0.9. */
  readonly saturationRatio?: number;
  /** Consecutive checks that found the pool saturated before the status is `degraded`. Default 2. */
  readonly saturatedChecks?: number;
  /** Receives every check's duration and outcome and the status after it. */
  readonly metrics?: HealthMetricsSink;
  /** Receives status changes only: `warn` when the status gets worse, `info` when it gets better. */
  readonly logger?: Logger;
  /** The statement a check runs. Default `select 1`. */
  readonly query?: string;
}

/** Defaults of {@link HealthCheckerOptions} (`periodMs` defaults to the pool's `healthCheckPeriodMs`). */
export const HEALTH_CHECKER_DEFAULTS = Object.freeze({
  /** {@link HealthCheckerOptions.timeoutMs}: 5 seconds. */
  timeoutMs: 5000,
  /** {@link HealthCheckerOptions.failureThreshold}: 3 checks. */
  failureThreshold: 3,
  /** {@link HealthCheckerOptions.slowCheckMs}: 1 second. */
  slowCheckMs: 1000,
  /** {@link HealthCheckerOptions.saturationRatio}: 90% of `maxConns`. */
  saturationRatio: 0.9,
  /** {@link HealthCheckerOptions.saturatedChecks}: 2 checks. */
  saturatedChecks: 2,
  /** {@link HealthCheckerOptions.query}: `select 1`. */
  query: 'select 1',
});

/** The `code` of the error recorded when a check does not end within `timeoutMs`. */
export const HEALTH_CHECK_TIMEOUT_CODE = 'HEALTH_CHECK_TIMEOUT';

/** The longest delay `setTimeout`/`setInterval` honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const SEVERITY: Readonly<Record<HealthStatus, number>> = Object.freeze({ healthy: 0, degraded: 1, unhealthy: 2 });

/** What one probe found. */
interface Probe {
  readonly ok: boolean;
  readonly error: unknown;
  readonly acquireMs: number | null;
  readonly queryMs: number | null;
  readonly totalMs: number;
}

/** Message and code of an error, for reports and reasons (never values or stacks). */
function errorSummary(error: unknown): { readonly message: string; readonly code?: string } {
  if (!(error instanceof Error)) return Object.freeze({ message: String(error) });
  let message = error.message;
  // `connect()` to a host with several addresses fails with an AggregateError without a message
  if (message === '' && error instanceof AggregateError) {
    const inner: unknown = error.errors[0];
    if (inner instanceof Error) message = inner.message;
  }
  if (message === '') message = error.name;
  const code = (error as { code?: unknown }).code;
  return Object.freeze(typeof code === 'string' && code !== '' ? { message, code } : { message });
}

function timeoutError(timeoutMs: number): Error {
  const error = new Error(`health check did not finish within ${timeoutMs} ms`);
  error.name = 'HealthCheckTimeoutError';
  return Object.assign(error, { code: HEALTH_CHECK_TIMEOUT_CODE });
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function integerOption(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new TypeError(`health.${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/** The options, validated and with defaults. */
interface Settings {
  readonly pool: InstrumentedPool;
  readonly breaker: CircuitBreaker | undefined;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly slowCheckMs: number;
  readonly saturationRatio: number;
  readonly saturatedChecks: number;
  readonly metrics: HealthMetricsSink | undefined;
  readonly logger: Logger;
  readonly query: string;
}

function settingsOf(options: HealthCheckerOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('health options must be an object');
  const { pool, breaker, metrics, logger, query } = options;
  if (!hasMethods(pool, ['acquire', 'stats']) || typeof pool.config !== 'object' || pool.config === null) {
    throw new TypeError('health.pool must be an InstrumentedPool (from createPool or createDatabase)');
  }
  if (breaker !== undefined && (typeof breaker !== 'object' || breaker === null || !('state' in breaker))) {
    throw new TypeError('health.breaker must be a CircuitBreaker (an object with a state)');
  }
  if (metrics !== undefined && !hasMethods(metrics, ['checked', 'status'])) {
    throw new TypeError('health.metrics must have checked() and status() methods');
  }
  if (logger !== undefined && !hasMethods(logger, ['warn', 'info'])) {
    throw new TypeError('health.logger must be a Logger (with warn() and info() methods)');
  }
  if (query !== undefined && (typeof query !== 'string' || query.trim() === '')) {
    throw new TypeError('health.query must be a non-empty string');
  }
  const slowCheckMs = options.slowCheckMs ?? HEALTH_CHECKER_DEFAULTS.slowCheckMs;
  if (typeof slowCheckMs !== 'number' || Number.isNaN(slowCheckMs) || slowCheckMs < 0) {
    throw new TypeError(`health.slowCheckMs must be a number >= 0 (Infinity: never slow), got ${String(slowCheckMs)}`);
  }
  const saturationRatio = options.saturationRatio ?? HEALTH_CHECKER_DEFAULTS.saturationRatio;
  if (typeof saturationRatio !== 'number' || !(saturationRatio > 0 && saturationRatio <= 1)) {
    throw new TypeError(`health.saturationRatio must be a number above 0 and at most 1, got ${String(saturationRatio)}`);
  }
  return {
    pool,
    breaker,
    periodMs: integerOption('periodMs', options.periodMs, pool.config.healthCheckPeriodMs, 1, MAX_TIMER_MS),
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, HEALTH_CHECKER_DEFAULTS.timeoutMs, 1, MAX_TIMER_MS),
    failureThreshold: integerOption('failureThreshold', options.failureThreshold, HEALTH_CHECKER_DEFAULTS.failureThreshold, 1),
    slowCheckMs,
    saturationRatio,
    saturatedChecks: integerOption('saturatedChecks', options.saturatedChecks, HEALTH_CHECKER_DEFAULTS.saturatedChecks, 1),
    metrics,
    logger: logger ?? silentLogger,
    query: query ?? HEALTH_CHECKER_DEFAULTS.query,
  };
}

/** The abort reason of a probe ended by `stop()`: its outcome is not recorded. */
const STOPPED = new Error('the health checker was stopped');

class PoolHealthChecker implements HealthChecker {
  readonly #settings: Settings;
  #latest: HealthReport | undefined;
  #inFlight: Promise<HealthReport> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #consecutiveFailures = 0;
  #consecutiveSaturated = 0;
  /** The status the logger last heard of; the baseline is `healthy`, so a healthy first check logs nothing. */
  #loggedStatus: HealthStatus = 'healthy';
  readonly #sinkFailed = new Set<string>();
  /** The running probe's controller, so that `stop()` can end it at once. */
  #probeController: AbortController | undefined;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  check(): Promise<HealthReport> {
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  report(): HealthReport {
    return this.#latest ?? this.#notCheckedYet();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check(), this.#settings.periodMs);
    this.#timer.unref();
    void this.check();
  }

  /** Stops the periodic checks and ends a check in flight at once (its result is dropped), e.g. so that shutdown never waits for a probe of a dead server. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#probeController?.abort(STOPPED);
    await this.#inFlight;
  }

  async #run(): Promise<HealthReport> {
    let poolSnapshot: HealthPoolSnapshot | undefined;
    let probe: Probe;
    try {
      // sampled before the check borrows its own connection, so that the check never counts itself
      poolSnapshot = this.#poolSnapshot();
      probe = await this.#probe();
    } catch (error) {
      // not expected (a probe records its failures); a check must still never throw
      probe = { ok: false, error, acquireMs: null, queryMs: null, totalMs: 0 };
    }
    poolSnapshot ??= Object.freeze({ total: 0, idle: 0, active: 0, waiting: 0, max: this.#settings.pool.config.maxConns });
    // a check ended by stop() says nothing about the database: keep the last verdict
    if (!probe.ok && probe.error === STOPPED) return this.report();
    const report = this.#evaluate(probe, poolSnapshot);
    this.#latest = report;
    this.#notify(probe, report);
    return report;
  }

  /** Borrows a connection and runs the query, both within `timeoutMs`. Never rejects. */
  async #probe(): Promise<Probe> {
    const { pool, timeoutMs, query } = this.#settings;
    const started = performance.now();
    const controller = new AbortController();
    this.#probeController = controller;
    const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
    timer.unref();
    const failed = (error: unknown, acquireMs: number | null): Probe => ({
      ok: false,
      error,
      acquireMs,
      queryMs: null,
      totalMs: performance.now() - started,
    });
    try {
      let connection: PooledConnection;
      try {
        connection = await pool.acquire({ signal: controller.signal });
      } catch (error) {
        return failed(error, null);
      }
      const acquired = performance.now();
      const acquireMs = acquired - started;
      if (controller.signal.aborted) {
        // the connection came just as the time ran out: nothing ran on it, it can be reused
        connection.release();
        return failed(controller.signal.reason, acquireMs);
      }
      const expired = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      expired.catch(() => undefined); // observed through the race below
      let running: Promise<unknown> | undefined;
      try {
        running = connection.client.query(query);
        await Promise.race([running, expired]);
      } catch (error) {
        if (controller.signal.aborted && error === controller.signal.reason) {
          // The query may still run on the server: the connection's state is unknown. A fatal
          // error makes the pool destroy it; the query then fails, which nobody awaits any more.
          running?.catch(() => undefined);
          connection.release(new ConnectionError(error, { context: 'health check query did not finish in time; closing its connection' }));
        } else {
          connection.release(error);
        }
        return failed(error, acquireMs);
      }
      connection.release();
      const ended = performance.now();
      return { ok: true, error: undefined, acquireMs, queryMs: ended - acquired, totalMs: ended - started };
    } finally {
      clearTimeout(timer);
    }
  }

  #poolSnapshot(): HealthPoolSnapshot {
    const { total, idle, active, waiting, max } = this.#settings.pool.stats();
    return Object.freeze({ total, idle, active, waiting, max });
  }

  #breakerState(): CircuitState | null {
    try {
      return this.#settings.breaker?.state ?? null;
    } catch {
      return null; // a check never throws, even for a broken breaker object
    }
  }

  /** Applies the status rules to a probe's outcome, and builds the (frozen) report. */
  #evaluate(probe: Probe, poolSnapshot: HealthPoolSnapshot): HealthReport {
    const settings = this.#settings;
    this.#consecutiveFailures = probe.ok ? 0 : this.#consecutiveFailures + 1;
    const saturated =
      poolSnapshot.waiting > 0 || (poolSnapshot.max > 0 && poolSnapshot.active / poolSnapshot.max >= settings.saturationRatio);
    this.#consecutiveSaturated = saturated ? this.#consecutiveSaturated + 1 : 0;
    const lastError = probe.ok ? null : errorSummary(probe.error);
    const breaker = this.#breakerState();

    let status: HealthStatus = 'healthy';
    const reasons: string[] = [];
    const add = (level: HealthStatus, reason: string): void => {
      reasons.push(reason);
      if (SEVERITY[level] > SEVERITY[status]) status = level;
    };
    if (settings.pool.closed) add('unhealthy', 'pool is closed');
    if (breaker === 'open') add('unhealthy', 'circuit breaker open');
    if (breaker === 'half-open') add('degraded', 'circuit breaker half-open (probing whether the database is back)');
    const failures = this.#consecutiveFailures;
    if (lastError !== null) {
      if (failures >= settings.failureThreshold) {
        add('unhealthy', `${failures} consecutive ${failures === 1 ? 'check' : 'checks'} failed (last: ${lastError.message})`);
      } else {
        add('degraded', `last check failed (${failures} of ${settings.failureThreshold} failures before unhealthy): ${lastError.message}`);
      }
    }
    if (probe.ok && probe.totalMs > settings.slowCheckMs) {
      add('degraded', `check took ${Math.round(probe.totalMs)} ms (slow above ${settings.slowCheckMs} ms)`);
    }
    if (this.#consecutiveSaturated >= settings.saturatedChecks) {
      add(
        'degraded',
        `pool saturated: ${poolSnapshot.active} of ${poolSnapshot.max} connections in use, ${poolSnapshot.waiting} waiting`,
      );
    }
    return Object.freeze({
      status,
      reasons: Object.freeze(reasons),
      checkedAt: new Date().toISOString(),
      latency: Object.freeze({
        acquireMs: probe.acquireMs === null ? null : roundMs(probe.acquireMs),
        queryMs: probe.queryMs === null ? null : roundMs(probe.queryMs),
        totalMs: roundMs(probe.totalMs),
      }),
      consecutiveFailures: failures,
      lastError,
      breaker,
      pool: poolSnapshot,
    });
  }

  #notCheckedYet(): HealthReport {
    return Object.freeze({
      status: 'unhealthy',
      reasons: Object.freeze(['not checked yet']),
      checkedAt: null,
      latency: Object.freeze({ acquireMs: null, queryMs: null, totalMs: null }),
      consecutiveFailures: 0,
      lastError: null,
      breaker: this.#breakerState(),
      pool: this.#poolSnapshot(),
    });
  }

  /** Tells the metrics sink about every check and the logger about status changes; neither may break a check. */
  #notify(probe: Probe, report: HealthReport): void {
    const { metrics, logger, pool } = this.#settings;
    if (metrics !== undefined) {
      this.#callSink('checked', () => metrics.checked(probe.totalMs / 1000, probe.ok));
      this.#callSink('status', () => metrics.status(report.status));
    }
    const from = this.#loggedStatus;
    const to = report.status;
    if (from === to) return;
    this.#loggedStatus = to;
    const meta = { pool: pool.name, from, to, reasons: report.reasons, ...(report.lastError ? { error: report.lastError } : {}) };
    try {
      if (SEVERITY[to] > SEVERITY[from]) logger.warn('database health got worse', meta);
      else logger.info('database health improved', meta);
    } catch {
      // a logger that throws must not turn a check into a failure
    }
  }

  #callSink(method: 'checked' | 'status', call: () => void): void {
    try {
      call();
    } catch (error) {
      if (this.#sinkFailed.has(method)) return;
      this.#sinkFailed.add(method);
      try {
        this.#settings.logger.warn('health metrics sink threw; ignoring it', { method, error: errorSummary(error) });
      } catch {
        // nothing more to do
      }
    }
  }
}

/**
 * Validates health checker settings before there is a pool (as `createDatabase` does, so that a
 * mistake throws before any connection opens). Throws the same `TypeError`s as
 * {@link createHealthChecker}.
 */
export function checkHealthOptions(options: Omit<HealthCheckerOptions, 'pool'>): void {
  const placeholder = {
    acquire: () => Promise.reject(new Error('placeholder')),
    stats: () => undefined,
    config: { healthCheckPeriodMs: HEALTH_CHECKER_DEFAULTS.timeoutMs, maxConns: 1 },
  } as unknown as InstrumentedPool;
  settingsOf({ ...options, pool: placeholder });
}

/**
 * Creates a {@link HealthChecker} for a pool (and optionally its circuit breaker). Nothing runs
 * until `check()` or `start()`.
 *
 * Status rules, applied after every check:
 * - `unhealthy` when `failureThreshold` checks in a row failed, the breaker is `open`, or the pool is closed;
 * - `degraded` when the last check failed (fewer failures in a row than the threshold), a successful
 *   check took longer than `slowCheckMs`, the breaker is `half-open`, or the pool was saturated
 *   (active / max ≥ `saturationRatio`, or callers waiting) at `saturatedChecks` checks in a row;
 * - `healthy` otherwise. `reasons` names every rule that applied.
 *
 * @throws {TypeError} for an invalid option (the message names it)
 */
export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  return new PoolHealthChecker(settingsOf(options));
}
