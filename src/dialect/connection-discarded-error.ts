import { AlertHistoryDbError } from '../errors/alert-history-db-error.js';

/** Why the driver decided a connection must not go back to the pool. */
export type DiscardReason = 'rollback-failed' | 'session-killed' | 'stream-failed' | 'cancel-timeout' | 'replacement-failed';

const DESCRIPTIONS: Readonly<Record<DiscardReason, string>> = Object.freeze({
  'rollback-failed': 'a rollback failed, so the transaction state of the session is unknown',
  'session-killed': 'its session was terminated on request (killSession)',
  'stream-failed': 'a cursor on it could not be closed',
  'cancel-timeout': 'a statement canceled at its deadline did not stop in time, so the connection was closed',
  'replacement-failed': 'it died under a read that was to be retried, and no new connection could be had',
});

/**
 * Given to the pool when a connection is released in a state that forbids reuse; the pool destroys
 * the connection. Also thrown when a statement is attempted on such a connection.
 *
 * Its kind is `connection`, which `isFatalConnectionError` (the pool's release verdict) treats as fatal.
 */
export class ConnectionDiscardedError extends AlertHistoryDbError {
  readonly kind = 'connection' as const;
  /** Why the connection was discarded. */
  readonly reason: DiscardReason;

  constructor(reason: DiscardReason, cause?: unknown) {
    super(`connection discarded: ${DESCRIPTIONS[reason]}`, { code: 'CONNECTION_DISCARDED', retryable: false, cause });
    this.reason = reason;
  }
}
