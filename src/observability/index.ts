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
export { checkHealthOptions, createHealthChecker, HEALTH_CHECK_TIMEOUT_CODE, HEALTH_CHECKER_DEFAULTS, type HealthChecker, type HealthCheckerOptions } from './health-checker.js';
export {
  HEALTH_STATUSES,
  type HealthMetricsSink,
  type HealthPoolSnapshot,
  type HealthReport,
  type HealthStatus,
} from './health-types.js';
export { healthHandler, livenessHandler, metricsHandler, HEALTH_HTTP_STATUS, type HealthHandlerOptions, type HttpHandler, type MetricsSource } from './http-handlers.js';
