/** The Alert History HTTP service (docs/service.md): build it on a database, or start it as `npm start` does. */
export { createService, type AlertHistoryService, type ListenOptions, type ServiceOptions } from './create-service.js';
export { startService, type RunningService, type StartServiceOptions, type TextOutput } from './start-service.js';
export { shutdownOnSignals, type ShutdownOptions, type Stoppable } from './shutdown-on-signals.js';
export {
  databaseConfigured,
  DATABASE_TARGET_VARIABLES,
  readServiceConfig,
  SERVICE_DEFAULTS,
  ServiceConfigError,
  type ServiceConfig,
  type ServiceConfigProblem,
} from './service-config.js';
export { answerFor, DEFAULT_RETRY_AFTER_SECONDS, type ErrorAnswer } from './http-errors.js';
export { HTTP_DURATION_BUCKETS } from './http-metrics.js';
