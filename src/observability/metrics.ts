import type { MultiplexStats } from '../dialect/multiplex/multiplex-stats.js';
import { Registry } from 'prom-client';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { QueryOperation } from '../dialect/query-operation.js';
import type { InstrumentedPool, PoolObserver } from '../pool/instrumented-pool.js';
import type { CircuitBreaker, CircuitState } from '../resilience/circuit-breaker.js';
import { classifyError, isSqlState } from '../resilience/classify-error.js';
import type { ResilienceObserver } from '../resilience/resilience-observer.js';
import { HEALTH_STATUSES, type HealthMetricsSink, type HealthStatus } from './health-types.js';
import { LabelLimiter } from './label-limiter.js';
import { registerFamilies, type MetricFamilies } from './metric-families.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * The prom-client registry to register into (prom-client is a peer dependency: the
   * application's own copy is used). Default: a new `Registry`.
   */
  readonly registry?: Registry;
  /**
   * Most distinct values of the `table` label per registry; later new tables are reported as
   * `(other)`. Default 50. Fixed by the first `createMetrics` call on a registry: a later call
   * asking for another value throws.
   */
  readonly maxTableLabels?: number;
}

/** One statement, as the query timing plugin reports it. */
export interface QuerySample {
  /** What the statement did (`select`, `insert`…, `ddl`, `other`). */
  readonly operation: QueryOperation;
  /** The main table (the target of a write, the first table of a select), if the query tree names one. */
  readonly table: string | undefined;
  /** How long the statement took, in seconds. */
  readonly durationSeconds: number;
  /** Whether the statement failed. */
  readonly failed: boolean;
  /** The error it failed with. */
  readonly error?: unknown;
}

/** Counters of a statement cache (fed by the statement cache plugin). */
export interface StatementCacheCounters {
  /** A statement ran from a prepared statement already on its connection. */
  hit(): void;
  /** A statement was prepared on its connection (its first use there). */
  miss(): void;
  /** `count` (default 1) prepared statements were closed to stay within capacity. */
  evicted(count?: number): void;
  /** A prepared statement was dropped and prepared again (after `26000` or `0A000`). */
  reprepared(): void;
}

/** Counters of a result cache (fed by the result cache plugin). */
export interface ResultCacheCounters {
  /** A query was answered from the cache. */
  hit(): void;
  /** A cacheable query ran on the server. */
  miss(): void;
  /** `count` (default 1) entries were dropped for space or age. */
  evicted(count?: number): void;
  /** `count` (default 1) entries were dropped because a write touched their tables. */
  invalidated(count?: number): void;
}

/**
 * The library's Prometheus metrics in one registry, for any number of pools (label `pool`).
 * Names follow OpenTelemetry's `db.client.connection.*` and `db.client.operation.*` semantics in
 * Prometheus form (base units, `_total` counters); see `docs/metrics.md`.
 *
 * `createDatabase` wires all of it. With `createPool` and `createDialect`, wire the parts:
 * `observer: metrics.poolObserver(name)` for the pool, `metrics.trackPool(pool)`, the
 * `queryTiming({ metrics, poolName })` interceptor, `observer: metrics.resilienceObserver(name)`
 * for the dialect and `metrics.trackBreaker(name, breaker)`.
 */
export interface DatabaseMetrics {
  /** The registry the metrics live in (serve it with `metricsHandler(registry)`). */
  readonly registry: Registry;
  /**
   * Reports the pool's gauges (connections idle and used, max, min, waiting) and counters
   * (created, closed by reason, connect errors, acquire timeouts and errors, leaks, idle errors)
   * from `pool.stats()` at each scrape. Returns a function that stops (the series disappear).
   * Throws if another pool with the same name is tracked in this registry.
   */
  trackPool(pool: InstrumentedPool): () => void;
  /** Pool hooks for `createPool(config, { observer })`: acquire wait, connect time and hold time histograms. */
  poolObserver(poolName: string): PoolObserver;
  /** Dialect hooks (`observer` option): retries and transactions. */
  resilienceObserver(poolName: string): ResilienceObserver;
  /** Reports the breaker's state at each scrape. Returns a function that stops. */
  trackBreaker(poolName: string, breaker: CircuitBreaker): () => void;
  /**
   * Reports a pool's multiplexing (`db_client_multiplex_in_flight`, `db_client_multiplex_executions_total`),
   * read from `stats` at scrape time. Returns the function that stops it.
   */
  trackMultiplex(poolName: string, stats: () => MultiplexStats | undefined): () => void;
  /** Where a health checker of that pool reports. */
  healthSink(poolName: string): HealthMetricsSink;
  /** Records one statement (the query timing plugin calls it). */
  recordQuery(poolName: string, sample: QuerySample): void;
  /** Counts one statement above the slow-query threshold. */
  recordSlowQuery(poolName: string, operation: QueryOperation): void;
  /**
   * Counts a statement refused before it could run: no connection could be had (acquire
   * timeout, open breaker, refused connection). Recorded in `db_client_errors_total` with
   * `operation="none"` (Kysely asks for the connection before it hands over the statement).
   */
  recordRefused(poolName: string, error: unknown): void;
  /** Whether a pool of that name reports into this registry. */
  hasPool(poolName: string): boolean;
  /** The statement cache counters of a pool. */
  statementCache(poolName: string): StatementCacheCounters;
  /** The result cache counters of a pool. */
  resultCache(poolName: string): ResultCacheCounters;
}

/** What one registry holds: its families and what they report on. */
interface RegistryState {
  readonly families: MetricFamilies;
  readonly pools: Map<string, InstrumentedPool>;
  readonly breakers: Map<string, CircuitBreaker>;
  /** Per pool with multiplexing on: where its stats are read at scrape time. */
  readonly multiplexers: Map<string, () => MultiplexStats | undefined>;
  readonly tables: LabelLimiter;
  readonly maxTableLabels: number;
  /** Per pool: how to remove each series with several labels it has fed, so that closing it leaves nothing behind. */
  readonly series: Map<string, Map<string, () => void>>;
}

const states = new WeakMap<Registry, RegistryState>();

/** The `table` label of a statement whose query tree names no table (raw SQL). Parentheses keep it apart from real table names. */
const NO_TABLE = '(none)';

const DEFAULT_MAX_TABLE_LABELS = 50;
const BREAKER_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];

function collectPools(state: RegistryState, families: MetricFamilies): void {
  const { connections, connectionsMax, connectionsIdleMin, pendingRequests, timeouts, acquireErrors, created, closed, connectErrors, leaks, idleErrors } =
    families;
  for (const family of [connections, connectionsMax, connectionsIdleMin, pendingRequests, timeouts, acquireErrors, created, closed, connectErrors, leaks, idleErrors]) {
    family.reset();
  }
  for (const [pool, instance] of state.pools) {
    const stats = instance.stats();
    connections.set({ pool, state: 'idle' }, stats.idle);
    connections.set({ pool, state: 'used' }, stats.active);
    connectionsMax.set({ pool }, stats.max);
    connectionsIdleMin.set({ pool }, stats.min);
    pendingRequests.set({ pool }, stats.waiting);
    timeouts.inc({ pool }, stats.acquireTimeoutCount);
    acquireErrors.inc({ pool, reason: 'error' }, stats.acquireErrorCount);
    acquireErrors.inc({ pool, reason: 'canceled' }, stats.canceledAcquireCount);
    created.inc({ pool }, stats.createdCount);
    for (const [reason, count] of Object.entries(stats.destroyedCount)) closed.inc({ pool, reason }, count);
    connectErrors.inc({ pool }, stats.connectErrorCount);
    leaks.inc({ pool }, stats.leaksDetected);
    idleErrors.inc({ pool }, stats.idleErrorCount);
  }
}

function collectBreakers(state: RegistryState, families: MetricFamilies): void {
  families.breakerState.reset();
  for (const [pool, breaker] of state.breakers) {
    const current = breaker.state;
    for (const candidate of BREAKER_STATES) families.breakerState.set({ pool, state: candidate }, candidate === current ? 1 : 0);
  }
}

function collectMultiplex(state: RegistryState, families: MetricFamilies): void {
  families.multiplexInFlight.reset();
  families.multiplexExecutions.reset();
  for (const [pool, read] of state.multiplexers) {
    const stats = read();
    if (stats === undefined) continue;
    stats.inFlight.forEach((depth, slot) => families.multiplexInFlight.set({ pool, slot: String(slot) }, depth));
    families.multiplexExecutions.inc({ pool, mode: 'multiplexed' }, stats.multiplexed);
    families.multiplexExecutions.inc({ pool, mode: 'exclusive' }, stats.exclusive);
  }
}

function stateOf(registry: Registry, maxTableLabels: number): RegistryState {
  let state = states.get(registry);
  if (state === undefined) {
    const holder: { state?: RegistryState } = {};
    const families = registerFamilies(registry, {
      collectPools: (f) => {
        if (holder.state !== undefined) collectPools(holder.state, f);
      },
      collectBreakers: (f) => {
        if (holder.state !== undefined) collectBreakers(holder.state, f);
      },
      collectMultiplex: (f) => {
        if (holder.state !== undefined) collectMultiplex(holder.state, f);
      },
    });
    state = { families, pools: new Map(), breakers: new Map(), multiplexers: new Map(), tables: new LabelLimiter(maxTableLabels), maxTableLabels, series: new Map() };
    holder.state = state;
    states.set(registry, state);
  }
  if (state.maxTableLabels !== maxTableLabels) {
    throw new TypeError(`this registry's metrics were created with maxTableLabels ${state.maxTableLabels}; asked for ${maxTableLabels}`);
  }
  return state;
}

/** The SQLSTATE class of a code (`23` of `23505`), or `none` for socket and library codes. */
function sqlstateClass(code: string | undefined): string {
  return isSqlState(code) ? code.slice(0, 2) : 'none';
}

type AnyFamily = Counter<string> | Gauge<string> | Histogram<string>;

/** Remembers that `labels` of `family` were fed for `pool`, so that {@link forgetPool} can remove them. */
function remember(state: RegistryState, family: AnyFamily, name: string, labels: Record<string, string>): void {
  let seen = state.series.get(labels.pool ?? '');
  if (seen === undefined) {
    seen = new Map();
    state.series.set(labels.pool ?? '', seen);
  }
  // on every observation: a plain join is several times cheaper than JSON.stringify
  let key = name;
  for (const value of Object.values(labels)) key += `\u0001${value}`;
  if (!seen.has(key)) seen.set(key, () => family.remove(labels));
}

/** Removes every series of a pool that stopped reporting (a closed pool leaves nothing behind). */
function forgetPool(state: RegistryState, pool: string): void {
  const seen = state.series.get(pool);
  if (seen === undefined) return;
  state.series.delete(pool);
  for (const remove of seen.values()) remove();
}

function isRegistry(value: unknown): value is Registry {
  const candidate = value as Partial<Registry> | undefined;
  return typeof candidate?.registerMetric === 'function' && typeof candidate.metrics === 'function' && typeof candidate.getSingleMetric === 'function';
}

function positiveCount(count: number | undefined): number {
  return count === undefined || !(count > 0) ? 1 : count;
}

/**
 * The library's metrics in `options.registry` (or a new registry). Calling it again with the
 * same registry returns metrics over the same families (prom-client allows one family per name
 * and registry), so several pools and databases can share one registry. Throws `TypeError` for
 * invalid options.
 */
export function createMetrics(options: MetricsOptions = {}): DatabaseMetrics {
  const registry = options.registry ?? new Registry();
  // duck-typed: a registry of the application's prom-client is what counts, not this module's class
  if (!isRegistry(registry)) throw new TypeError('metrics registry must be a prom-client Registry');
  const maxTableLabels = options.maxTableLabels ?? DEFAULT_MAX_TABLE_LABELS;
  if (!Number.isInteger(maxTableLabels) || maxTableLabels < 1) throw new TypeError('maxTableLabels must be an integer >= 1');
  const state = stateOf(registry, maxTableLabels);
  const f = state.families;
  const recordRefused = (poolName: string, error: unknown): void => {
    const { kind, code } = classifyError(error);
    const labels = { pool: poolName, operation: 'none', kind, sqlstate_class: sqlstateClass(code) };
    remember(state, f.errors, 'errors', labels);
    f.errors.inc(labels);
  };

  return Object.freeze({
    registry,
    trackPool(pool: InstrumentedPool): () => void {
      const existing = state.pools.get(pool.name);
      if (existing !== undefined && existing !== pool) {
        throw new TypeError(`a pool named "${pool.name}" already reports into this registry: give each pool its own name`);
      }
      state.pools.set(pool.name, pool);
      return () => {
        if (state.pools.get(pool.name) !== pool) return;
        state.pools.delete(pool.name);
        forgetPool(state, pool.name);
      };
    },
    poolObserver(poolName: string): PoolObserver {
      const labels = { pool: poolName };
      for (const [name, family] of [['wait', f.waitTime], ['create', f.createTime], ['use', f.useTime]] as const) remember(state, family, name, labels);
      return Object.freeze({
        onAcquire: (event: { readonly waitSeconds: number }) => f.waitTime.observe(labels, event.waitSeconds),
        onConnect: (event: { readonly connectSeconds: number }) => f.createTime.observe(labels, event.connectSeconds),
        onRelease: (event: { readonly heldSeconds: number }) => f.useTime.observe(labels, event.heldSeconds),
      });
    },
    resilienceObserver(poolName: string): ResilienceObserver {
      return Object.freeze({
        onRetry: (event) => {
          const labels = { pool: poolName, reason: event.reason };
          remember(state, f.retries, 'retries', labels);
          f.retries.inc(labels);
        },
        onTransaction: (event) => {
          const labels = { pool: poolName, outcome: event.outcome };
          remember(state, f.transactionDuration, 'transactions', labels);
          f.transactionDuration.observe(labels, event.durationSeconds);
        },
        onAcquireFailure: (event) => recordRefused(poolName, event.error),
      } satisfies ResilienceObserver);
    },
    trackBreaker(poolName: string, breaker: CircuitBreaker): () => void {
      const existing = state.breakers.get(poolName);
      if (existing !== undefined && existing !== breaker) {
        throw new TypeError(`a breaker of pool "${poolName}" already reports into this registry: give each pool its own name`);
      }
      state.breakers.set(poolName, breaker);
      return () => {
        if (state.breakers.get(poolName) === breaker) state.breakers.delete(poolName);
      };
    },
    trackMultiplex(poolName: string, stats: () => MultiplexStats | undefined): () => void {
      if (state.multiplexers.has(poolName)) {
        throw new TypeError(`multiplexing of pool "${poolName}" already reports into this registry: give each pool its own name`);
      }
      state.multiplexers.set(poolName, stats);
      return () => {
        if (state.multiplexers.get(poolName) === stats) state.multiplexers.delete(poolName);
      };
    },
    healthSink(poolName: string): HealthMetricsSink {
      for (const status of HEALTH_STATUSES) remember(state, f.healthStatus, 'health', { pool: poolName, status });
      for (const outcome of ['success', 'error']) remember(state, f.healthCheckDuration, 'check', { pool: poolName, outcome });
      return Object.freeze({
        checked: (durationSeconds: number, ok: boolean) =>
          f.healthCheckDuration.observe({ pool: poolName, outcome: ok ? 'success' : 'error' }, durationSeconds),
        status: (status: HealthStatus) => {
          for (const candidate of HEALTH_STATUSES) f.healthStatus.set({ pool: poolName, status: candidate }, candidate === status ? 1 : 0);
        },
      });
    },
    recordQuery(poolName: string, sample: QuerySample): void {
      const table = state.tables.value(sample.table ?? NO_TABLE);
      const labels = { pool: poolName, operation: sample.operation, table, outcome: sample.failed ? 'error' : 'success' };
      remember(state, f.operationDuration, 'duration', labels);
      f.operationDuration.observe(labels, sample.durationSeconds);
      if (sample.failed) {
        const { kind, code } = classifyError(sample.error);
        const errorLabels = { pool: poolName, operation: sample.operation, kind, sqlstate_class: sqlstateClass(code) };
        remember(state, f.errors, 'errors', errorLabels);
        f.errors.inc(errorLabels);
      }
    },
    recordSlowQuery(poolName: string, operation: QueryOperation): void {
      const labels = { pool: poolName, operation };
      remember(state, f.slowQueries, 'slow', labels);
      f.slowQueries.inc(labels);
    },
    recordRefused,
    hasPool(poolName: string): boolean {
      return state.pools.has(poolName);
    },
    statementCache(poolName: string): StatementCacheCounters {
      const labels = { pool: poolName };
      for (const [name, family] of [['sh', f.statementCacheHits], ['sm', f.statementCacheMisses], ['se', f.statementCacheEvictions], ['sr', f.statementCacheReprepares]] as const) {
        remember(state, family, name, labels);
      }
      return Object.freeze({
        hit: () => f.statementCacheHits.inc(labels),
        miss: () => f.statementCacheMisses.inc(labels),
        evicted: (count?: number) => f.statementCacheEvictions.inc(labels, positiveCount(count)),
        reprepared: () => f.statementCacheReprepares.inc(labels),
      });
    },
    resultCache(poolName: string): ResultCacheCounters {
      const labels = { pool: poolName };
      for (const [name, family] of [['rh', f.resultCacheHits], ['rm', f.resultCacheMisses], ['re', f.resultCacheEvictions], ['ri', f.resultCacheInvalidations]] as const) {
        remember(state, family, name, labels);
      }
      return Object.freeze({
        hit: () => f.resultCacheHits.inc(labels),
        miss: () => f.resultCacheMisses.inc(labels),
        evicted: (count?: number) => f.resultCacheEvictions.inc(labels, positiveCount(count)),
        invalidated: (count?: number) => f.resultCacheInvalidations.inc(labels, positiveCount(count)),
      });
    },
  });
}
