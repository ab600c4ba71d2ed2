import { AlertHistoryDbError } from './alert-history-db-error.js';

/** Facts about the pool at the moment an acquisition gave up. */
export interface AcquireTimeoutDetails {
  readonly poolName: string;
  readonly timeoutMs: number;
  readonly max: number;
  readonly total: number;
  readonly active: number;
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
