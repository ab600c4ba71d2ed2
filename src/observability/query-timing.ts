import type { QueryInterceptor } from '../dialect/interceptor.js';
import type { QueryContext } from '../dialect/query-context.js';
import { classifyError } from '../resilience/classify-error.js';
import { silentLogger, type Logger } from './logger.js';
import { redactString } from './logger-factory.js';
import type { DatabaseMetrics } from './metrics.js';

/** Options of {@link queryTiming}. */
export interface QueryTimingOptions {
  /** Where durations and errors are recorded. Without it, only slow queries are logged. */
  readonly metrics?: DatabaseMetrics;
  /** The `pool` label. Default `default`. */
  readonly poolName?: string;
  /** Where slow queries are logged (`warn`). Default: silent. */
  readonly logger?: Logger;
  /** Statements at least this slow, in milliseconds, are logged and counted; 0 turns it off. Default 1000. */
  readonly slowQueryMs?: number;
  /** Longest SQL text logged, in characters (the rest is cut, with a marker). Default 2000. */
  readonly maxSqlLength?: number;
}

/** Default of {@link QueryTimingOptions.slowQueryMs}. */
export const DEFAULT_SLOW_QUERY_MS = 1000;

function nonNegativeInteger(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new TypeError(`${field} must be an integer >= 0`);
  return value;
}

/**
 * The query timing plugin, an interceptor: every statement's duration goes into
 * `db_client_operation_duration_seconds` by operation, main table and outcome, failures into
 * `db_client_errors_total` by error kind and SQLSTATE class (a Kysely plugin never sees a failed
 * query; an interceptor does). Statements at least `slowQueryMs` slow are logged at `warn` with
 * their SQL text as sent (placeholders, never the parameter values; literals written into raw SQL
 * do appear) and counted in `db_client_slow_queries_total`. Labels come from Kysely's query tree,
 * never from SQL text, so they stay bounded whatever SQL runs.
 */
export function queryTiming(options: QueryTimingOptions = {}): QueryInterceptor {
  const metrics = options.metrics;
  const poolName = options.poolName ?? 'default';
  const logger = options.logger ?? silentLogger;
  const slowQueryMs = nonNegativeInteger('slowQueryMs', options.slowQueryMs, DEFAULT_SLOW_QUERY_MS);
  const maxSqlLength = nonNegativeInteger('maxSqlLength', options.maxSqlLength, 2000);

  const record = (ctx: QueryContext, error: unknown, failed: boolean): void => {
    const durationMs = ctx.durationMs ?? 0;
    const operation = ctx.operation;
    const table = ctx.tables[0];
    metrics?.recordQuery(poolName, { operation, table, durationSeconds: durationMs / 1000, failed, error });
    if (slowQueryMs > 0 && durationMs >= slowQueryMs) {
      metrics?.recordSlowQuery(poolName, operation);
      // inline secrets (ALTER ROLE … PASSWORD '…' cannot take parameters) are masked, whatever logger receives it
      const text = redactString(ctx.sql);
      const sql = text.length > maxSqlLength ? `${text.slice(0, maxSqlLength)}… [${text.length - maxSqlLength} more characters]` : text;
      logger.warn('slow query', {
        pool: poolName,
        operation,
        table,
        durationMs: Math.round(durationMs * 1000) / 1000,
        thresholdMs: slowQueryMs,
        outcome: failed ? 'error' : 'success',
        ...(failed ? { kind: classifyError(error).kind } : { rowCount: ctx.rowCount }),
        connectionId: ctx.connectionId,
        queryId: ctx.queryId,
        sql,
      });
    }
  };

  return Object.freeze({
    name: 'query-timing',
    after: (ctx: QueryContext) => record(ctx, undefined, false),
    error: (ctx: QueryContext, error: unknown) => record(ctx, error, true),
  });
}
