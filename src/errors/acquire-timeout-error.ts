import { AlertHistoryDbError } from './alert-history-db-error.js';

/** Facts about the pool at the moment an acquisition gave up. */
export interface AcquireTimeoutDetails {
  /** The pool's name (`default` unless one was given). */
  readonly poolName: string;
  /** The pool's `acquireTimeoutMs`: the longest an acquisition waits. */
  readonly timeoutMs: number;
  /** The pool's largest number of connections (`maxConns`). */
  readonly max: number;
  /** Connections open or being opened. */
  readonly total: number;
  /** Connections handed out to callers and not yet released. */
  readonly active: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Callers waiting, this one included. */
  readonly waiting: number;
}

/** No connection became free within `acquireTimeoutMs`. Nothing was sent to the server. */
export class AcquireTimeoutError extends AlertHistoryDbError {
  readonly kind = 'timeout' as const;
  /** The pool's state when the wait ended. */
  readonly details: AcquireTimeoutDetails;

  constructor(details: AcquireTimeoutDetails, cause?: unknown) {
    super(
      `timed out after ${details.timeoutMs} ms waiting for a connection from pool "${details.poolName}": ` +
        `${details.active} of ${details.max} connections in use, ${details.idle} idle, ${details.waiting} waiting`,
      { code: 'ACQUIRE_TIMEOUT', retryable: true, cause },
    );
    this.details = Object.freeze({ ...details });
  }
}
