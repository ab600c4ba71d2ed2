import { Kysely, type KyselyConfig } from 'kysely';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import { dialectOnPool } from '../dialect/create-dialect.js';
import type { DialectCommonOptions } from '../dialect/dialect-options.js';
import { InterceptorChain } from '../dialect/interceptor-chain.js';
import { resolveConfig } from '../dialect/pg-settings.js';
import { resolveDriverResilience } from '../dialect/resilience-settings.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { ResilienceObserver } from '../resilience/resilience-observer.js';
import { checkHealthOptions, createHealthChecker, type HealthChecker, type HealthCheckerOptions } from '../observability/health-checker.js';
import { silentLogger } from '../observability/logger.js';
import { componentLogger } from '../observability/logger-factory.js';
import { createMetrics, type DatabaseMetrics } from '../observability/metrics.js';
import { queryTiming } from '../observability/query-timing.js';
import { statementCache, type StatementCacheOptions } from '../plugins/statement-cache.js';
import { createPool } from '../pool/create-pool.js';
import { observeTransactionRetries } from '../resilience/transaction.js';
import { resolveMultiplexOptions, type MultiplexOptions } from '../dialect/multiplex/multiplex-options.js';
import { multiplexedKysely } from '../dialect/multiplex/multiplexed-kysely.js';
import type { MultiplexStats } from '../dialect/multiplex/multiplex-stats.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';

/** Settings of the health checker `createDatabase` runs (the pool, breaker, metrics and logger are wired). */
export type DatabaseHealthOptions = Omit<HealthCheckerOptions, 'pool' | 'breaker' | 'metrics' | 'logger'>;

/** Options of {@link createDatabase}. */
export interface CreateDatabaseOptions extends DialectCommonOptions {
  /** Label of the pool in metrics and logs. Default `default`. */
  readonly poolName?: string;
  /** Environment read by `loadConfig` when the configuration is not loaded yet. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Kysely options besides the dialect (`plugins`, `log`). */
  readonly kysely?: Omit<KyselyConfig, 'dialect'>;
  /** How long `close()` waits for borrowed connections before destroying them. Default: the pool's. */
  readonly closeTimeoutMs?: number;
  /**
   * Where the metrics go: `createMetrics({ registry })` to report into your registry (several
   * databases may share it; their `poolName`s must differ), `false` for none. Default: a new
   * registry, at `database.metrics.registry`.
   */
  readonly metrics?: DatabaseMetrics | false;
  /** Statements at least this slow (ms) are logged at `warn` and counted; 0 turns it off. Default 1000. */
  readonly slowQueryMs?: number;
  /**
   * The health checker: its settings (`periodMs`, `timeoutMs`, `failureThreshold`…; the period
   * defaults to the configuration's `healthCheckPeriod`), or `false` for none. It starts at once
   * and checks periodically (unref'd timers); `close()` stops it.
   */
  readonly health?: DatabaseHealthOptions | false;
  /**
   * Server-side prepared statements for repeated SQL (docs/statement-cache.md): its options
   * (`capacity`, default 512 per connection), or `false` to turn it off, as PgBouncer in
   * transaction pooling mode requires. Default: on. It runs innermost, after your interceptors.
   */
  readonly statementCache?: Omit<StatementCacheOptions, 'counters' | 'logger'> | false;
  /**
   * Multiplexed execution (docs/multiplexing.md): single statements outside transactions
   * (`select`, `insert`, `update`, `delete`, `merge` that leave no session state) share a few
   * pooled connections in node-postgres's pipeline mode; transactions, streams, `db.connection()`,
   * statements that change the session and statements given an `AbortSignal` keep exclusive
   * connections. `true` for the defaults, or its settings. Default: off.
   */
  readonly multiplex?: MultiplexOptions | boolean;
}

/** A ready database: the Kysely instance, its pool, and one call to shut both down. */
export interface Database<DB> {
  /** Typed query builder over the pool. */
  readonly db: Kysely<DB>;
  /** The pool under `db` (stats, warm-up). */
  readonly pool: InstrumentedPool;
  /** The circuit breaker guarding `db`'s connection acquisition (`undefined` with `breaker: false`): its `state` for health and metrics. */
  readonly breaker: CircuitBreaker | undefined;
  /** The metrics (`metrics.registry` to serve with `metricsHandler`), or `undefined` with `metrics: false`. */
  readonly metrics: DatabaseMetrics | undefined;
  /** The health checker (serve it with `healthHandler`), or `undefined` with `health: false`. */
  readonly health: HealthChecker | undefined;
  /** What multiplexing has done so far, or `undefined` when it is off. */
  multiplexStats(): MultiplexStats | undefined;
  /** Stops the health checker, destroys `db`, then closes the pool. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}

/**
 * Wires configuration, pool and dialect into a `Kysely<DB>`: the one call an application makes.
 * With no configuration, `loadConfig` reads the environment (`DATABASE_URL`, `PG*`…); with a
 * `PostgresConfigInput`, it is merged over the environment; a `PostgresConfig` produced by
 * `loadConfig` is used as it is (a copy of one, e.g. `{ ...config, maxConns: 20 }`, is rejected:
 * pass overrides to `loadConfig`). Everything is validated before the pool is created, so nothing
 * is opened when it throws: `ConfigError` for the configuration, `TypeError` for the interceptors.
 */
export function createDatabase<DB>(config?: PostgresConfig | PostgresConfigInput, options: CreateDatabaseOptions = {}): Database<DB> {
  const logger = options.logger ?? silentLogger;
  const poolName = options.poolName ?? 'default';
  const metrics = options.metrics === false ? undefined : (options.metrics ?? createMetrics());
  if (metrics !== undefined && typeof metrics.trackPool !== 'function') throw new TypeError('metrics must come from createMetrics() or be false');
  const health = options.health;
  if (health !== undefined && health !== false && (typeof health !== 'object' || health === null)) {
    throw new TypeError('health must be health checker options or false');
  }
  if (health !== undefined && health !== false) checkHealthOptions(health);
  const interceptors = [
    ...(metrics === undefined && options.slowQueryMs === 0
      ? []
      : [queryTiming({ metrics, poolName, logger: componentLogger(logger, 'query'), ...(options.slowQueryMs === undefined ? {} : { slowQueryMs: options.slowQueryMs }) })]),
    ...(options.interceptors ?? []),
    ...(options.statementCache === false
      ? []
      : [
          statementCache({
            ...options.statementCache,
            ...(metrics === undefined ? {} : { counters: metrics.statementCache(poolName) }),
            logger: componentLogger(logger, 'statement-cache'),
          }),
        ]),
  ];
  const dialectLogger = componentLogger(logger, 'dialect');
  const chain = InterceptorChain.of(interceptors, dialectLogger);
  const resilience = resolveDriverResilience({ ...options, observer: bothObservers(options.observer, metrics?.resilienceObserver(poolName)) });
  const resolved = resolveConfig(config, options.env ?? process.env);
  const multiplex =
    options.multiplex === undefined || options.multiplex === false
      ? undefined
      : resolveMultiplexOptions(options.multiplex === true ? {} : options.multiplex, resolved.maxConns, resolved.leakDetectionThresholdMs);
  if (metrics?.hasPool(poolName)) {
    throw new TypeError(`a pool named "${poolName}" already reports into this metrics registry: give each database its own poolName`);
  }
  const pool = createPool(resolved, {
    name: poolName,
    logger: componentLogger(logger, 'pool'),
    ...(metrics === undefined ? {} : { observer: metrics.poolObserver(poolName) }),
  });
  const breaker = typeof resilience.breaker === 'function' ? resilience.breaker(pool) : resilience.breaker;
  const stops: (() => void)[] = [];
  let db: Kysely<DB>;
  let multiplexStats: () => MultiplexStats | undefined = () => undefined;
  let checker: HealthChecker | undefined;
  try {
    if (metrics !== undefined) {
      stops.push(metrics.trackPool(pool));
      if (breaker !== undefined) stops.push(metrics.trackBreaker(poolName, breaker));
    }
    const dialect = dialectOnPool(pool, chain, dialectLogger, { ...resilience, breaker }, multiplex);
    if (multiplex === undefined) {
      db = new Kysely<DB>({ ...options.kysely, dialect });
    } else {
      const multiplexed = multiplexedKysely<DB>(dialect, options.kysely ?? {});
      db = multiplexed.db;
      multiplexStats = () => multiplexed.driver.multiplexStats();
      if (metrics !== undefined) stops.push(metrics.trackMultiplex(poolName, multiplexStats));
    }
    // retries of transaction(db, …) reach the metrics and the observer like the dialect's own
    const onRetry = resilience.observer?.onRetry;
    if (onRetry !== undefined) observeTransactionRetries(db, (event) => onRetry(event));
    if (health !== false) {
      checker = createHealthChecker({
        ...health,
        pool,
        ...(breaker === undefined ? {} : { breaker }),
        ...(metrics === undefined ? {} : { metrics: metrics.healthSink(poolName) }),
        logger: componentLogger(logger, 'health'),
      });
      checker.start();
    }
  } catch (error) {
    // e.g. invalid Kysely or health options: do not leave the pool (and its warm-up connections) behind
    for (const stop of stops) stop();
    pool.close().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  const closeTimeoutMs = options.closeTimeoutMs;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await checker?.stop();
        await db.destroy();
      } finally {
        try {
          await pool.close(closeTimeoutMs === undefined ? undefined : { timeoutMs: closeTimeoutMs });
        } finally {
          for (const stop of stops) stop();
        }
      }
    })();
    return closing;
  };
  return Object.freeze({ db, pool, breaker, metrics, health: checker, multiplexStats: () => multiplexStats(), close });
}

/** Calls `hook`, ignoring what it throws: one observer's failure must not keep the other from its event. */
function guarded(hook: () => void): void {
  try {
    hook();
  } catch {
    // observers only observe
  }
}

/** One observer calling both, or the one given. */
function bothObservers(first: ResilienceObserver | undefined, second: ResilienceObserver | undefined): ResilienceObserver | undefined {
  if (first === undefined) return second;
  if (second === undefined) return first;
  return Object.freeze({
    onRetry: (event) => {
      guarded(() => first.onRetry?.(event));
      guarded(() => second.onRetry?.(event));
    },
    onCircuitStateChange: (change) => {
      guarded(() => first.onCircuitStateChange?.(change));
      guarded(() => second.onCircuitStateChange?.(change));
    },
    onTransaction: (event) => {
      guarded(() => first.onTransaction?.(event));
      guarded(() => second.onTransaction?.(event));
    },
    onAcquireFailure: (event) => {
      guarded(() => first.onAcquireFailure?.(event));
      guarded(() => second.onAcquireFailure?.(event));
    },
  } satisfies ResilienceObserver);
}
