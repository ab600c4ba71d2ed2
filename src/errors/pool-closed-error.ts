import { AlertHistoryDbError } from './alert-history-db-error.js';

/** Work was asked of a pool after `close()` was called. */
export class PoolClosedError extends AlertHistoryDbError {
  readonly kind = 'closed' as const;

  constructor(poolName: string) {
    super(`pool "${poolName}" is closed; no new connections are handed out`, {
      code: 'POOL_CLOSED',
      retryable: false,
    });
  }
}
