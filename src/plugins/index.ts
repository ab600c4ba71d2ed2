/** Plugins on the interceptor chain: statement cache, audit log (with the actor context), result cache. */
export { DEFAULT_STATEMENT_CACHE_CAPACITY, statementCache, type StatementCacheOptions } from './statement-cache.js';
export { hasMultipleStatements } from './sql-statements.js';
export { currentActor, withActor, type Actor } from './actor-context.js';
export {
  AUDIT_MESSAGE,
  auditLog,
  createAuditLogger,
  DEFAULT_AUDIT_MAX_SQL_LENGTH,
  DEFAULT_AUDITED_OPERATIONS,
  type AuditError,
  type AuditLogOptions,
  type AuditLoggerOptions,
  type AuditRecord,
  type AuditSink,
} from './audit-log.js';
export { REDACTED_PARAMETER } from './audit-parameters.js';
export {
  createResultCache,
  DEFAULT_RESULT_CACHE_TTL_MS,
  type CacheableQuery,
  type ResultCache,
  type ResultCacheDatabase,
  type ResultCacheExecuteOptions,
  type ResultCacheOptions,
} from './result-cache.js';
export {
  createMemoryResultCacheStore,
  DEFAULT_MAX_BYTES as DEFAULT_RESULT_CACHE_MAX_BYTES,
  DEFAULT_MAX_ENTRIES as DEFAULT_RESULT_CACHE_MAX_ENTRIES,
  estimateRowsBytes,
  type MaybePromise,
  type MemoryResultCacheStore,
  type MemoryResultCacheStoreOptions,
  type ResultCacheEntry,
  type ResultCacheStore,
} from './result-cache-store.js';
export { queryCacheKey, serializeQueryKey } from './result-cache-key.js';
