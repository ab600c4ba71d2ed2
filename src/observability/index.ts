/** Observability: Prometheus metrics, the query timing plugin, the health checker, HTTP handlers, logging. */
export { createLogger, componentLogger, type LoggerOptions, type LogFormat } from './logger-factory.js';
