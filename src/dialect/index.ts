/** The Kysely dialect: driver, connection, and the interceptor chain plugins build on. */
export { createDialect } from './create-dialect.js';
export { PostgresPoolDialect } from './dialect.js';
export type {
  CreateDialectOptions,
  ConfigDialectOptions,
  DialectCommonOptions,
  OwnedPoolOptions,
  PgPoolSettings,
  PoolDialectOptions,
  SettingsDialectOptions,
} from './dialect-options.js';
export type { HookResult, InterceptedResult, QueryInterceptor, QueryNext } from './interceptor.js';
export type { ConnectionSession, QueryContext, QueryMode } from './query-context.js';
export { QUERY_OPERATIONS, operationOf, type QueryOperation } from './query-operation.js';
export { MAX_QUERY_TABLES, tablesOf } from './query-tables.js';
export { ConnectionDiscardedError, type DiscardReason } from './connection-discarded-error.js';
export {
  precompile,
  type ParameterFunction,
  type Precompile,
  type PrecompiledQuery,
  type PrecompiledQueryBuilder,
  type PrecompiledRow,
} from './precompiled-query.js';
export { PrecompiledParameterError, type PrecompiledParameterProblem } from '../errors/precompiled-parameter-error.js';
export {
  DEFAULT_MULTIPLEX_CONNECTIONS,
  DEFAULT_MULTIPLEX_MAX_IN_FLIGHT,
  DEFAULT_MULTIPLEX_ROTATE_AFTER_MS,
  DEFAULT_MULTIPLEX_SLOW_STATEMENT_MS,
  type MultiplexOptions,
} from './multiplex/multiplex-options.js';
export type { MultiplexStats } from './multiplex/multiplex-stats.js';
