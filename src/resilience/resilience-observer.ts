import type { CircuitStateChange } from './circuit-breaker.js';
import type { RetryEvent } from './retry-policy.js';

/** How a transaction ended, as the driver saw it. */
export type TransactionOutcome = 'commit' | 'rollback' | 'failed';

/** One transaction that ended (any transaction the dialect ran: `db.transaction()`, `transaction()`, controlled ones). */
export interface TransactionEvent {
  /** `commit`: COMMIT succeeded; `rollback`: rolled back (by ROLLBACK, by the server on an error reported to COMMIT, or by closing the connection); `failed`: the connection was lost while COMMIT was out, so its outcome is unknown. */
  readonly outcome: TransactionOutcome;
  /** From BEGIN until the end, in seconds. */
  readonly durationSeconds: number;
  /** Pool-unique id of the connection. */
  readonly connectionId: number;
}

/**
 * Hooks for metrics (see `docs/reliability.md`): every retry, breaker change and transaction.
 * Each hook must be cheap and must not throw (what it throws is ignored).
 */
export interface ResilienceObserver {
  /** A retry is about to happen, after `event.delayMs`. */
  onRetry?(event: RetryEvent): void;
  /** The circuit breaker changed state. */
  onCircuitStateChange?(change: CircuitStateChange): void;
  /** A transaction ended. */
  onTransaction?(event: TransactionEvent): void;
  /**
   * No connection could be had for a statement (after the connect retries): acquire timeout,
   * open breaker, refused connection, closed pool. Nothing was sent.
   */
  onAcquireFailure?(event: { readonly error: unknown }): void;
}
