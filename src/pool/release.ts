import type { Logger } from '../observability/logger.js';
import type { ConnectionRecord } from './connection-record.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { isFatalConnectionError } from './fatal-error.js';
import type { DestroyReason } from './instrumented-pool.js';
import type { PermitQueue } from './permit-queue.js';
import type { PoolState } from './pool-state.js';
import { processIdOf, type ReleaseTarget } from './pooled-connection.js';
import type { ObserverCaller } from './safe-hooks.js';

/** What a {@link ConnectionRelease} reports to and reads from. */
export interface ConnectionReleaseOptions {
  readonly tracker: ConnectionTracker;
  readonly permits: PermitQueue;
  readonly state: PoolState;
  readonly observer: ObserverCaller;
  readonly logger: Logger;
  readonly poolName: string;
}

/**
 * Where borrowed connections come back (the pool's one {@link ReleaseTarget}): a connection goes
 * to the first caller waiting for a permit, or back to pg.Pool, unless it must be closed: fatal error ({@link isFatalConnectionError}), broken
 * client, still inside a transaction (checked here only, and logged), past its lifetime, or the
 * pool is closing. Either way its permit is freed.
 */
export class ConnectionRelease implements ReleaseTarget {
  readonly #tracker: ConnectionTracker;
  readonly #permits: PermitQueue;
  readonly #state: PoolState;
  readonly #observer: ObserverCaller;
  readonly #logger: Logger;
  readonly #poolName: string;

  constructor(options: ConnectionReleaseOptions) {
    this.#tracker = options.tracker;
    this.#permits = options.permits;
    this.#state = options.state;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#poolName = options.poolName;
  }

  releaseBorrowed(record: ConnectionRecord, acquiredAt: number, error: unknown): void {
    const now = performance.now();
    record.leakWatch?.stop();
    record.leakWatch = undefined;
    record.borrower = undefined;
    this.#state.returned();
    if (this.#observer.wants('onRelease')) {
      this.#observer.emit('onRelease', { connectionId: record.id, heldSeconds: (now - acquiredAt) / 1000 });
    }
    const reason = this.#verdict(record, error, now);
    if (reason !== undefined) {
      this.#tracker.destroy(record, reason);
      this.#permits.release();
    } else {
      // Someone waits: the connection goes straight to them with its permit (held by the pool
      // meanwhile), without a round through pg.Pool's idle list and a second checkout.
      // Its idle clock starts now either way: a waiter whose wait ended as it was handed over puts
      // it back idle as released now.
      record.state = 'housekeeping';
      record.lastReleasedAt = now;
      if (!this.#permits.handOff(record)) {
        record.state = 'idle';
        record.client.release();
        this.#permits.release();
      }
    }
    this.#state.changes.notify();
  }

  /** Why a connection coming back from a caller at `now` must be closed, or `undefined` to keep it. */
  #verdict(record: ConnectionRecord, error: unknown, now: number): DestroyReason | undefined {
    const failed = this.#state.closed ? 'shutdown' : 'error';
    if (record.broken || (error !== undefined && isFatalConnectionError(error))) return failed;
    if (this.#releasedInTransaction(record)) return failed;
    if (this.#state.closed) return 'shutdown';
    if (now >= record.expiresAt) return 'lifetime';
    return undefined;
  }

  /**
   * Whether a healthy connection came back inside a transaction (`BEGIN` without `COMMIT` or
   * `ROLLBACK`, or a failed transaction). The pool is the one place that checks this (the dialect
   * relies on it), so the warning here is the only report the caller gets.
   */
  #releasedInTransaction(record: ConnectionRecord): boolean {
    const status = record.client.getTransactionStatus();
    if (status !== 'T' && status !== 'E') return false;
    this.#logger.warn('connection released inside a transaction; closing it (the server rolls the transaction back)', {
      pool: this.#poolName,
      connectionId: record.id,
      processId: processIdOf(record.client),
      transaction: status === 'E' ? 'failed' : 'open',
    });
    return true;
  }
}
