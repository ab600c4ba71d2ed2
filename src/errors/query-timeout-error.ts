import { AlertHistoryDbError } from './alert-history-db-error.js';

/**
 * A query outlived its client-side deadline (a timeout or an aborted `AbortSignal`). The
 * server's own `statement_timeout` is reported as `pg.DatabaseError` with SQLSTATE `57014`;
 * when the deadline led to a cancellation, that server error may be the `cause`.
 *
 * Not retryable: the same query under the same deadline would most likely time out again.
 * Whether a write took effect is not known from this error alone.
 */
export class QueryTimeoutError extends AlertHistoryDbError {
  readonly kind = 'timeout' as const;
  /** The deadline that expired, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, cause?: unknown) {
    super(`query did not finish within its client deadline of ${timeoutMs} ms`, {
      code: 'QUERY_TIMEOUT',
      retryable: false,
      cause,
    });
    this.timeoutMs = timeoutMs;
  }
}
