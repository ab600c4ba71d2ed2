import { AlertHistoryDbError } from './alert-history-db-error.js';

/**
 * A write was on its way to the server, or already there, when its connection died: whether it
 * took effect is unknown. Raised for statements that were not provably read-only and ran on a
 * shared (multiplexed) connection; they are never sent again, because a second run could apply the
 * write twice. The connection's error is the `cause`.
 *
 * What to do: make the write idempotent (e.g. `insert … on conflict do nothing` with a natural
 * key) and repeat it, or read back whether it happened before repeating it.
 */
export class AmbiguousOutcomeError extends AlertHistoryDbError {
  readonly kind = 'connection' as const;
  /** What the statement does (`insert`, `update`, `raw`…), from its query tree or leading keyword. */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    super(`the connection died while a statement (${operation}) was in flight on it: whether it took effect is unknown, and it was not sent again`, {
      code: 'AMBIGUOUS_OUTCOME',
      retryable: false,
      cause,
    });
    this.operation = operation;
  }
}
