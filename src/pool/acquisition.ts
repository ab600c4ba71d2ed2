import type pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { AcquireTimeoutError } from '../errors/acquire-timeout-error.js';
import { PoolClosedError } from '../errors/pool-closed-error.js';
import type { Logger } from '../observability/logger.js';
import { describeError } from '../observability/describe-error.js';
import { AcquireDeadline, DeadlineTimer, type DeadlineOutcome } from './acquire-deadline.js';
import type { ConnectionCheckout } from './checkout.js';
import type { ConnectionRecord } from './connection-record.js';
import type { AcquireOptions, PooledConnection } from './instrumented-pool.js';
import type { LeakDetector } from './leak-detector.js';
import type { PermitQueue } from './permit-queue.js';
import type { PoolCounters } from './pool-counters.js';
import type { PoolState } from './pool-state.js';
import { BorrowedConnection, type ReleaseTarget } from './pooled-connection.js';
import type { ObserverCaller } from './safe-hooks.js';

/** What an {@link Acquisition} takes permits and connections from, and reports to. */
export interface AcquisitionOptions {
  readonly config: PostgresConfig;
  readonly poolName: string;
  /** Read for its counts only (the timeout error describes the pool). */
  readonly pg: pg.Pool;
  readonly permits: PermitQueue;
  readonly checkout: ConnectionCheckout;
  /** Where the handed-out connections come back. */
  readonly releaseTarget: ReleaseTarget;
  readonly leaks: LeakDetector;
  readonly state: PoolState;
  readonly counters: PoolCounters;
  readonly observer: ObserverCaller;
  readonly logger: Logger;
}

/**
 * The acquisition path: a permit (at once, or from the FIFO queue), then a checkout, both raced
 * against one {@link AcquireDeadline} (`acquireTimeoutMs`, the caller's `AbortSignal`, or
 * `close()`), then the hand-out. A connection that arrives after its caller gave up goes back to
 * the pool.
 */
export class Acquisition {
  readonly #config: PostgresConfig;
  readonly #poolName: string;
  readonly #pg: pg.Pool;
  readonly #permits: PermitQueue;
  readonly #checkout: ConnectionCheckout;
  readonly #releaseTarget: ReleaseTarget;
  readonly #leaks: LeakDetector;
  readonly #state: PoolState;
  readonly #counters: PoolCounters;
  readonly #observer: ObserverCaller;
  readonly #logger: Logger;
  readonly #pending = new Set<AcquireDeadline>();
  /** The one timer of every waiting acquisition's timeout. */
  readonly #deadlines: DeadlineTimer;
  /** Built once: each acquisition passes it instead of allocating a closure. */
  readonly #makeTimeoutError = (): AcquireTimeoutError => this.#timeoutError();

  constructor(options: AcquisitionOptions) {
    this.#config = options.config;
    this.#poolName = options.poolName;
    this.#pg = options.pg;
    this.#permits = options.permits;
    this.#checkout = options.checkout;
    this.#releaseTarget = options.releaseTarget;
    this.#leaks = options.leaks;
    this.#state = options.state;
    this.#counters = options.counters;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#deadlines = new DeadlineTimer(options.config.acquireTimeoutMs);
  }

  /** Acquisitions still waiting (for a permit or a connection). */
  get waiting(): number {
    return this.#pending.size;
  }

  /**
   * See {@link InstrumentedPool.acquire}.
   *
   * @param origin the leak detector's acquisition stack ({@link LeakDetector.captureOrigin}),
   *   taken by the pool's own `acquire` so that it starts in the caller's frames
   * @param started `performance.now()` when the caller asked
   */
  async acquire(options: AcquireOptions | undefined, origin: Error | undefined, started: number): Promise<PooledConnection> {
    if (this.#state.closed) {
      this.#failed('closed', started);
      throw new PoolClosedError(this.#poolName);
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      this.#failed('canceled', started);
      throw signal.reason;
    }
    let holdsPermit = false;
    if (this.#pending.size === 0 && this.#pg.idleCount > this.#pg.waitingCount && this.#permits.tryTake()) {
      // The fast path: nobody waits, a permit is free and pg.Pool holds an idle connection that no
      // checkout already queued in pg.Pool (it serves them in order on its next ticks) will take:
      // pg.Pool hands it over on its next tick. Without a deadline (a timer, a promise and two races
      // saved on every statement): the checkout cannot wait for anything. Should the idle connection
      // turn out broken or expired, it is closed and the slow path below, deadline and all, takes
      // over with the permit already held.
      holdsPermit = true;
      let record: ConnectionRecord | undefined;
      try {
        record = await this.#checkout.takeIdle();
      } catch (error) {
        this.#permits.release();
        this.#failed('error', started);
        this.#state.changes.notify();
        throw error;
      }
      if (record !== undefined && this.#state.closed) {
        // close() came during the checkout: the connection goes back (closed, its permit freed)
        this.#checkout.returnUnused(record);
        this.#failed('closed', started);
        throw new PoolClosedError(this.#poolName);
      }
      if (record !== undefined) {
        this.#state.changes.notify();
        return this.#handOut(record, started, false, origin);
      }
    }
    const deadline = new AcquireDeadline(this.#deadlines, signal, this.#makeTimeoutError);
    this.#pending.add(deadline);
    try {
      let empty = false;
      if (holdsPermit) {
        // the fast path's permit (its idle connection was closed): empty or not as decided below
      } else if (this.#permits.tryTake()) {
        holdsPermit = true;
      } else {
        empty = true;
        const request = this.#permits.request();
        let handedOff: ConnectionRecord | undefined;
        try {
          handedOff = await deadline.race(request.granted);
        } catch (error) {
          if (!request.cancel()) {
            // granted just as the wait ended: give back the permit, and the connection that came with it
            const late = request.handedOff;
            if (late === undefined) this.#permits.release();
            else this.#checkout.returnUnused(late);
          }
          throw error;
        }
        holdsPermit = true;
        if (handedOff !== undefined) {
          // a releasing borrower handed its connection over with the permit
          if (this.#state.closed) {
            // close() came before this caller resumed: the connection goes back (closed), with its permit
            holdsPermit = false;
            this.#checkout.returnUnused(handedOff);
            throw new PoolClosedError(this.#poolName);
          }
          if (!handedOff.broken) {
            holdsPermit = false; // the permit now belongs to the borrowed connection
            return this.#handOut(handedOff, started, true, origin);
          }
          this.#checkout.discard(handedOff); // it failed meanwhile: closed; the permit stays ours for a new one
        }
      }
      if (this.#pg.idleCount === 0) empty = true;
      const checkout = this.#checkout.forCaller();
      let record: ConnectionRecord;
      try {
        record = await deadline.race(checkout);
      } catch (error) {
        if (deadline.outcome !== undefined) {
          // The caller is gone; if the connection still comes, it goes back to the pool.
          holdsPermit = false;
          checkout
            .then(
              (late) => this.#checkout.returnUnused(late),
              () => this.#permits.release(),
            )
            .catch((lateError: unknown) =>
              this.#logger.error('pool could not take back a connection that arrived after its caller left', {
                pool: this.#poolName,
                error: describeError(lateError),
              }),
            );
        }
        throw error;
      }
      holdsPermit = false; // the permit now belongs to the borrowed connection
      return this.#handOut(record, started, empty, origin);
    } catch (error) {
      if (holdsPermit) this.#permits.release();
      this.#failed(deadline.outcome ?? 'error', started);
      throw error;
    } finally {
      deadline.dispose();
      this.#pending.delete(deadline);
      this.#state.changes.notify();
    }
  }

  /** Ends every waiting acquisition with a {@link PoolClosedError} (`close()`). */
  closeAll(): void {
    for (const deadline of [...this.#pending]) deadline.expire('closed', new PoolClosedError(this.#poolName));
  }

  #handOut(record: ConnectionRecord, started: number, empty: boolean, origin: Error | undefined): PooledConnection {
    const now = performance.now();
    const waitSeconds = (now - started) / 1000;
    const connection = new BorrowedConnection(record, now, this.#releaseTarget);
    record.state = 'borrowed';
    record.borrower = connection;
    record.leakWatch = this.#leaks.watch(record.id, now, origin);
    this.#state.lent();
    this.#counters.acquired(waitSeconds, empty);
    if (this.#observer.wants('onAcquire')) {
      this.#observer.emit('onAcquire', { connectionId: record.id, waitSeconds, waited: empty });
    }
    return connection;
  }

  #failed(reason: DeadlineOutcome | 'error', started: number): void {
    this.#counters.acquireFailed(reason);
    if (this.#observer.wants('onAcquireFailed')) {
      this.#observer.emit('onAcquireFailed', { reason, waitSeconds: (performance.now() - started) / 1000 });
    }
  }

  #timeoutError(): AcquireTimeoutError {
    return new AcquireTimeoutError({
      poolName: this.#poolName,
      timeoutMs: this.#config.acquireTimeoutMs,
      max: this.#config.maxConns,
      total: this.#pg.totalCount,
      active: this.#state.borrowed,
      idle: this.#pg.idleCount,
      waiting: this.#pending.size,
    });
  }
}
