/**
 * alert-history-db: validated PostgreSQL configuration, an instrumented `pg.Pool`, and a drop-in
 * Kysely dialect with an interceptor chain. Start with {@link createDatabase}.
 *
 * @packageDocumentation
 */
export * from './config/index.js';
export * from './pool/index.js';
export * from './dialect/index.js';
export * from './database/index.js';
export {
  AlertHistoryDbError,
  AcquireTimeoutError,
  CircuitOpenError,
  ConnectionError,
  PoolClosedError,
  QueryTimeoutError,
  AmbiguousOutcomeError,
  MAX_BIND_PARAMETERS,
  TooManyParametersError,
  MigrationFailedError,
  MigrationLockError,
  MigrationSourceError,
  MigrationStateError,
  MissingMigrationsError,
  type MigrationLocation,
  type AlertHistoryDbErrorOptions,
  type AcquireTimeoutDetails,
  type CircuitOpenDetails,
  type ConnectionErrorOptions,
  type ErrorKind,
} from './errors/index.js';
export * from './resilience/index.js';
export * from './observability/index.js';
export * from './plugins/index.js';
export * from './migrate/index.js';
/** The alert history schema's table types, generated from `migrations/` by kysely-codegen. */
export type { AlertEvents, Alerts, DB } from './schema/index.js';
export * from './alerts/index.js';
