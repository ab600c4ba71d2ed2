/** The library's typed errors. Errors from the server stay `pg.DatabaseError`. */
export { AlertHistoryDbError, type AlertHistoryDbErrorOptions } from './alert-history-db-error.js';
export { AcquireTimeoutError, type AcquireTimeoutDetails } from './acquire-timeout-error.js';
export { ConfigError, type ConfigProblem } from './config-error.js';
export { PoolClosedError } from './pool-closed-error.js';
export type { ErrorKind } from './error-kind.js';
export { CircuitOpenError, type CircuitOpenDetails } from './circuit-open-error.js';
export { ConnectionError, type ConnectionErrorOptions } from './connection-error.js';
export { QueryTimeoutError } from './query-timeout-error.js';
export { MAX_BIND_PARAMETERS, TooManyParametersError } from './too-many-parameters-error.js';
export {
  MigrationFailedError,
  MigrationLockError,
  MigrationSourceError,
  MissingMigrationsError,
  MigrationStateError,
  type MigrationLocation,
} from './migration-error.js';
export { PrecompiledParameterError, type PrecompiledParameterProblem } from './precompiled-parameter-error.js';
export { AmbiguousOutcomeError } from './ambiguous-outcome-error.js';
