/** Observability: Prometheus metrics, the query timing plugin, the health checker, HTTP handlers, logging. */
export { createLogger, componentLogger, type LoggerOptions, type LogFormat } from './logger-factory.js';
export { silentLogger, type Logger } from './logger.js';
export {
  createMetrics,
  type DatabaseMetrics,
  type MetricsOptions,
  type QuerySample,
  type ResultCacheCounters,
  type StatementCacheCounters,
} from './metrics.js';
export { ACQUIRE_WAIT_BUCKETS, CONNECT_BUCKETS, HOLD_BUCKETS, QUERY_DURATION_BUCKETS } from './metric-families.js';
export { DEFAULT_SLOW_QUERY_MS, queryTiming, type QueryTimingOptions } from './query-timing.js';
