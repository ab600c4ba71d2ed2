import type { CompiledQuery } from 'kysely';
import type { Logger } from '../observability/logger.js';
import { classifyError } from '../resilience/classify-error.js';
import { operationOf } from './query-operation.js';
import { tablesOf } from './query-tables.js';

/** Kinds whose failed statements are logged at `error` level; the others (the caller's SQL or data) at `warn`. */
const SEVERE_KINDS: ReadonlySet<string> = new Set(['connection', 'timeout', 'resources', 'internal', 'configuration', 'closed']);

/** Where a failed statement ran, for its log line. */
export interface FailureSite {
  readonly attempt: number;
  readonly durationMs: number;
  readonly connectionId: number | undefined;
  /** `shared` for a multiplexed statement. */
  readonly connection?: 'shared';
}

/**
 * One structured line per failed statement: kind, code, operation, table, duration, attempt,
 * connection. Never SQL values. Never throws: logging must not change the outcome.
 */
export function logStatementFailure(logger: Logger, error: unknown, compiledQuery: CompiledQuery, site: FailureSite): void {
  try {
    const { kind, code } = classifyError(error);
    const meta = {
      kind,
      code,
      operation: operationOf(compiledQuery.query, compiledQuery.sql),
      table: tablesOf(compiledQuery.query)[0],
      durationMs: Math.round(site.durationMs * 1000) / 1000,
      attempt: site.attempt,
      connectionId: site.connectionId,
      ...(site.connection === undefined ? {} : { connection: site.connection }),
      queryId: compiledQuery.queryId?.queryId,
    };
    if (SEVERE_KINDS.has(kind)) logger.error('query failed', meta);
    else logger.warn('query failed', meta);
  } catch {
    // logging must never change the outcome
  }
}
