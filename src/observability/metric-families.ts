import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Buckets of statement and transaction durations, in seconds (1 ms to 30 s). */
export const QUERY_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

/** Buckets of waits for a pooled connection, in seconds (0.1 ms to 10 s). */
export const ACQUIRE_WAIT_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Buckets of connection opening times, in seconds (1 ms to 10 s). */
export const CONNECT_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Buckets of how long a connection is held per lease, in seconds (1 ms to 5 min). */
export const HOLD_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]);

/** The metric families of one registry, shared by every pool reporting into it (label `pool`). */
export interface MetricFamilies {
  readonly connections: Gauge<'pool' | 'state'>;
  readonly connectionsMax: Gauge<'pool'>;
  readonly connectionsIdleMin: Gauge<'pool'>;
  readonly pendingRequests: Gauge<'pool'>;
  readonly waitTime: Histogram<'pool'>;
  readonly createTime: Histogram<'pool'>;
  readonly useTime: Histogram<'pool'>;
  readonly timeouts: Counter<'pool'>;
  readonly acquireErrors: Counter<'pool' | 'reason'>;
  readonly created: Counter<'pool'>;
  readonly closed: Counter<'pool' | 'reason'>;
  readonly connectErrors: Counter<'pool'>;
  readonly leaks: Counter<'pool'>;
  readonly idleErrors: Counter<'pool'>;
  readonly operationDuration: Histogram<'pool' | 'operation' | 'table' | 'outcome'>;
  readonly errors: Counter<'pool' | 'operation' | 'kind' | 'sqlstate_class'>;
  readonly slowQueries: Counter<'pool' | 'operation'>;
  readonly retries: Counter<'pool' | 'reason'>;
  readonly transactionDuration: Histogram<'pool' | 'outcome'>;
  readonly breakerState: Gauge<'pool' | 'state'>;
  readonly healthStatus: Gauge<'pool' | 'status'>;
  readonly healthCheckDuration: Histogram<'pool' | 'outcome'>;
  readonly statementCacheHits: Counter<'pool'>;
  readonly statementCacheMisses: Counter<'pool'>;
  readonly statementCacheEvictions: Counter<'pool'>;
  readonly statementCacheReprepares: Counter<'pool'>;
  readonly resultCacheHits: Counter<'pool'>;
  readonly resultCacheMisses: Counter<'pool'>;
  readonly resultCacheEvictions: Counter<'pool'>;
  readonly resultCacheInvalidations: Counter<'pool'>;
  readonly multiplexInFlight: Gauge<'pool' | 'slot'>;
  readonly multiplexExecutions: Counter<'pool' | 'mode'>;
}

/** What the scrape-time collectors read: set by `createMetrics` once the families exist. */
export interface Collectors {
  collectPools(families: MetricFamilies): void;
  collectBreakers(families: MetricFamilies): void;
  collectMultiplex(families: MetricFamilies): void;
}

/**
 * Registers every family in `registry`. Gauges and the pool counters are filled at scrape time
 * by `collectors` (from `pool.stats()` and the breakers' states), so they are exact and cost
 * nothing between scrapes.
 */
export function registerFamilies(registry: Registry, collectors: Collectors): MetricFamilies {
  const registers = [registry];
  const holder: { families?: MetricFamilies } = {};
  // prom-client calls `collect` of each family as it reads it; each call refreshes the
  // pool-derived families from `pool.stats()` (a handful of reads per pool).
  const collectPools = (): void => {
    if (holder.families !== undefined) collectors.collectPools(holder.families);
  };
  const collectBreakers = (): void => {
    if (holder.families !== undefined) collectors.collectBreakers(holder.families);
  };
  const collectMultiplex = (): void => {
    if (holder.families !== undefined) collectors.collectMultiplex(holder.families);
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: () => void): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers, ...(collect === undefined ? {} : { collect }) });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: () => void): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers, ...(collect === undefined ? {} : { collect }) });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> =>
    new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers });

  const families: MetricFamilies = Object.freeze({
    connections: gauge('db_client_connections_usage', 'Open connections of the pool, by state: idle or used (borrowed).', ['pool', 'state'], collectPools),
    connectionsMax: gauge('db_client_connection_max', 'Most connections the pool may open (maxConns).', ['pool'], collectPools),
    connectionsIdleMin: gauge('db_client_connection_idle_min', 'Connections the pool keeps open even when idle (minConns).', ['pool'], collectPools),
    pendingRequests: gauge(
      'db_client_connection_pending_requests',
      'Callers waiting for a connection (for one to be released or opened).',
      ['pool'],
      collectPools,
    ),
    waitTime: histogram('db_client_connection_wait_time_seconds', 'Time to get a connection from the pool, successful acquisitions.', ['pool'], ACQUIRE_WAIT_BUCKETS),
    createTime: histogram('db_client_connection_create_time_seconds', 'Time to open a new connection (TCP, TLS, authentication, session settings).', ['pool'], CONNECT_BUCKETS),
    useTime: histogram('db_client_connection_use_time_seconds', 'Time a connection was held per lease, from acquisition to release.', ['pool'], HOLD_BUCKETS),
    timeouts: counter('db_client_connection_timeouts_total', 'Acquisitions that failed with AcquireTimeoutError.', ['pool'], collectPools),
    acquireErrors: counter(
      'db_client_connection_acquire_errors_total',
      'Acquisitions that failed otherwise: a connection could not be opened (error) or the caller aborted (canceled).',
      ['pool', 'reason'],
      collectPools,
    ),
    created: counter('db_client_connection_created_total', 'Connections opened.', ['pool'], collectPools),
    closed: counter(
      'db_client_connection_closed_total',
      'Connections closed, by reason: idle, lifetime, error (broken or fatal error) or shutdown.',
      ['pool', 'reason'],
      collectPools,
    ),
    connectErrors: counter('db_client_connection_connect_errors_total', 'Attempts to open a connection that failed.', ['pool'], collectPools),
    leaks: counter('db_client_connection_leaks_total', 'Connections held longer than leakDetectionThreshold.', ['pool'], collectPools),
    idleErrors: counter(
      'db_client_connection_idle_errors_total',
      'Errors of idle connections (server restart, terminated backend, network).',
      ['pool'],
      collectPools,
    ),
    operationDuration: histogram(
      'db_client_operation_duration_seconds',
      'Duration of statements, by operation, main table and outcome (success or error).',
      ['pool', 'operation', 'table', 'outcome'],
      QUERY_DURATION_BUCKETS,
    ),
    errors: counter(
      'db_client_errors_total',
      'Failed statements, by operation, error kind and SQLSTATE class (none for client-side errors); operation none: refused before any statement ran (no connection could be had).',
      ['pool', 'operation', 'kind', 'sqlstate_class'],
    ),
    slowQueries: counter('db_client_slow_queries_total', 'Statements slower than the slow-query threshold.', ['pool', 'operation']),
    retries: counter('db_client_retries_total', 'Retries, by reason: connect, read or transaction.', ['pool', 'reason']),
    transactionDuration: histogram(
      'db_client_transaction_duration_seconds',
      'Duration of transactions from BEGIN to the end, by outcome: commit, rollback or failed (COMMIT outcome unknown). Its _count counts transactions.',
      ['pool', 'outcome'],
      QUERY_DURATION_BUCKETS,
    ),
    breakerState: gauge(
      'db_client_circuit_breaker_state',
      'State of the circuit breaker: 1 for the current state (closed, open or half-open), 0 for the others.',
      ['pool', 'state'],
      collectBreakers,
    ),
    healthStatus: gauge(
      'db_client_health_status',
      'Result of the latest health check: 1 for the current status (healthy, degraded or unhealthy), 0 for the others.',
      ['pool', 'status'],
    ),
    healthCheckDuration: histogram(
      'db_client_health_check_duration_seconds',
      'Duration of health checks (acquire and query), by outcome: success or error.',
      ['pool', 'outcome'],
      QUERY_DURATION_BUCKETS,
    ),
    statementCacheHits: counter('db_client_statement_cache_hits_total', 'Statements run from a prepared statement already on the connection.', ['pool']),
    statementCacheMisses: counter('db_client_statement_cache_misses_total', 'Statements prepared on their connection (first use there).', ['pool']),
    statementCacheEvictions: counter('db_client_statement_cache_evictions_total', 'Prepared statements deallocated to stay within capacity.', ['pool']),
    statementCacheReprepares: counter(
      'db_client_statement_cache_reprepares_total',
      'Prepared statements dropped and prepared again after 26000 or 0A000 (cached plan must not change result type).',
      ['pool'],
    ),
    resultCacheHits: counter('db_client_result_cache_hits_total', 'Queries answered from the result cache.', ['pool']),
    resultCacheMisses: counter('db_client_result_cache_misses_total', 'Cacheable queries that ran on the server.', ['pool']),
    resultCacheEvictions: counter('db_client_result_cache_evictions_total', 'Result cache entries dropped for space or age.', ['pool']),
    resultCacheInvalidations: counter('db_client_result_cache_invalidations_total', 'Result cache entries dropped because a write touched their tables.', ['pool']),
    multiplexInFlight: gauge(
      'db_client_multiplex_in_flight',
      'Statements in flight on each shared (multiplexed) connection, by slot (0 for a slot with no connection open).',
      ['pool', 'slot'],
      collectMultiplex,
    ),
    multiplexExecutions: counter(
      'db_client_multiplex_executions_total',
      'Single statements outside transactions with multiplexing on, by where they ran: multiplexed (a shared connection) or exclusive (they change the session or carry an AbortSignal).',
      ['pool', 'mode'],
      collectMultiplex,
    ),
  });
  holder.families = families;
  return families;
}
