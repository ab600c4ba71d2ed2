import { Registry } from 'prom-client';
import type { QueryOperation } from '../dialect/query-operation.js';
import type { InstrumentedPool, PoolObserver } from '../pool/instrumented-pool.js';
import type { CircuitBreaker, CircuitState } from '../resilience/circuit-breaker.js';
import { classifyError } from '../resilience/classify-error.js';
import type { ResilienceObserver } from '../resilience/resilience-observer.js';
import { HEALTH_STATUSES, type HealthMetricsSink, type HealthStatus } from './health-types.js';
import { LabelLimiter } from './label-limiter.js';
import { registerFamilies, type MetricFamilies } from './metric-families.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The prom-client registry to register into. Default: a new `Registry`. */
  readonly registry?: Registry;
  /**
   * Most distinct values of the `table` label per registry; later new tables are reported as
   * `other`. Default 200. Only honoured by the first `createMetrics` call on a registry.
   */
  readonly maxTableLabels?: number;
}

/** One statement, as the query timing plugin reports it. */
export interface QuerySample {
  readonly operation: QueryOperation;
  /** The main table (the target of a write, the first table of a select), if the query tree names one. */
  readonly table: string | undefined;
  readonly durationSeconds: number;
  /** The error the statement failed with; `undefined` when it succeeded. */
  readonly error?: unknown;
}

/** Counters of a statement cache (fed by the statement cache plugin). */
export interface StatementCacheCounters {
  hit(): void;
  miss(): void;
  evicted(count?: number): void;
  reprepared(): void;
}

/** Counters of a result cache (fed by the result cache plugin). */
export interface ResultCacheCounters {
  hit(): void;
  miss(): void;
  evicted(count?: number): void;
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
  /** Where a health checker of that pool reports. */
  healthSink(poolName: string): HealthMetricsSink;
  /** Records one statement (the query timing plugin calls it). */
  recordQuery(poolName: string, sample: QuerySample): void;
  /** Counts one statement above the slow-query threshold. */
  recordSlowQuery(poolName: string, operation: QueryOperation): void;
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
  readonly tables: LabelLimiter;
}

const states = new WeakMap<Registry, RegistryState>();

const DEFAULT_MAX_TABLE_LABELS = 200;
const BREAKER_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];
const SQLSTATE = /^[0-9A-Z]{5}$/;

function collectPools(state: RegistryState, families: MetricFamilies): void {
  const { connections, connectionsMax, connectionsMin, pendingRequests, timeouts, acquireErrors, created, closed, connectErrors, leaks, idleErrors } =
    families;
  for (const family of [connections, connectionsMax, connectionsMin, pendingRequests, timeouts, acquireErrors, created, closed, connectErrors, leaks, idleErrors]) {
    family.reset();
  }
  for (const [pool, instance] of state.pools) {
    const stats = instance.stats();
    connections.set({ pool, state: 'idle' }, stats.idle);
    connections.set({ pool, state: 'used' }, stats.active);
    connectionsMax.set({ pool }, stats.max);
    connectionsMin.set({ pool }, stats.min);
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
    });
    state = { families, pools: new Map(), breakers: new Map(), tables: new LabelLimiter(maxTableLabels) };
    holder.state = state;
    states.set(registry, state);
  }
  return state;
}

function sqlstateClass(error: unknown): string {
  const { code } = classifyError(error);
  return code !== undefined && SQLSTATE.test(code) ? code.slice(0, 2) : 'none';
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
  if (!(registry instanceof Registry)) throw new TypeError('metrics registry must be a prom-client Registry');
  const maxTableLabels = options.maxTableLabels ?? DEFAULT_MAX_TABLE_LABELS;
  if (!Number.isInteger(maxTableLabels) || maxTableLabels < 1) throw new TypeError('maxTableLabels must be an integer >= 1');
  const state = stateOf(registry, maxTableLabels);
  const f = state.families;

  return Object.freeze({
    registry,
    trackPool(pool: InstrumentedPool): () => void {
      const existing = state.pools.get(pool.name);
      if (existing !== undefined && existing !== pool) {
        throw new TypeError(`a pool named "${pool.name}" already reports into this registry: give each pool its own name`);
      }
      state.pools.set(pool.name, pool);
      return () => {
        if (state.pools.get(pool.name) === pool) state.pools.delete(pool.name);
      };
    },
    poolObserver(poolName: string): PoolObserver {
      const labels = { pool: poolName };
      return Object.freeze({
        onAcquire: (event: { readonly waitSeconds: number }) => f.waitTime.observe(labels, event.waitSeconds),
        onConnect: (event: { readonly connectSeconds: number }) => f.createTime.observe(labels, event.connectSeconds),
        onRelease: (event: { readonly heldSeconds: number }) => f.useTime.observe(labels, event.heldSeconds),
      });
    },
    resilienceObserver(poolName: string): ResilienceObserver {
      return Object.freeze({
        onRetry: (event) => f.retries.inc({ pool: poolName, reason: event.reason }),
        onTransaction: (event) => f.transactionDuration.observe({ pool: poolName, outcome: event.outcome }, event.durationSeconds),
      } satisfies ResilienceObserver);
    },
    trackBreaker(poolName: string, breaker: CircuitBreaker): () => void {
      state.breakers.set(poolName, breaker);
      return () => {
        if (state.breakers.get(poolName) === breaker) state.breakers.delete(poolName);
      };
    },
    healthSink(poolName: string): HealthMetricsSink {
      return Object.freeze({
        checked: (durationSeconds: number, ok: boolean) =>
          f.healthCheckDuration.observe({ pool: poolName, outcome: ok ? 'success' : 'error' }, durationSeconds),
        status: (status: HealthStatus) => {
          for (const candidate of HEALTH_STATUSES) f.healthStatus.set({ pool: poolName, status: candidate }, candidate === status ? 1 : 0);
        },
      });
    },
    recordQuery(poolName: string, sample: QuerySample): void {
      const table = state.tables.value(sample.table ?? 'none');
      const outcome = sample.error === undefined ? 'success' : 'error';
      f.operationDuration.observe({ pool: poolName, operation: sample.operation, table, outcome }, sample.durationSeconds);
      if (sample.error !== undefined) {
        f.errors.inc({ pool: poolName, operation: sample.operation, kind: classifyError(sample.error).kind, sqlstate_class: sqlstateClass(sample.error) });
      }
    },
    recordSlowQuery(poolName: string, operation: QueryOperation): void {
      f.slowQueries.inc({ pool: poolName, operation });
    },
    statementCache(poolName: string): StatementCacheCounters {
      const labels = { pool: poolName };
      return Object.freeze({
        hit: () => f.statementCacheHits.inc(labels),
        miss: () => f.statementCacheMisses.inc(labels),
        evicted: (count?: number) => f.statementCacheEvictions.inc(labels, positiveCount(count)),
        reprepared: () => f.statementCacheReprepares.inc(labels),
      });
    },
    resultCache(poolName: string): ResultCacheCounters {
      const labels = { pool: poolName };
      return Object.freeze({
        hit: () => f.resultCacheHits.inc(labels),
        miss: () => f.resultCacheMisses.inc(labels),
        evicted: (count?: number) => f.resultCacheEvictions.inc(labels, positiveCount(count)),
        invalidated: (count?: number) => f.resultCacheInvalidations.inc(labels, positiveCount(count)),
      });
    },
  });
}
