import type { DestroyReason, PoolStats } from './instrumented-pool.js';

/** The state of the pool at one moment; combined with the counters into {@link PoolStats}. */
export type PoolGauges = Pick<PoolStats, 'total' | 'idle' | 'active' | 'waiting' | 'max' | 'min'>;

/** Why an acquisition failed, as counted. */
export type AcquireFailure = 'timeout' | 'canceled' | 'error' | 'closed';

/** The pool's monotonic counters (pgxpool's `Stat()` model). Internal to the pool. */
export class PoolCounters {
  #acquireCount = 0;
  #acquireDurationSeconds = 0;
  #emptyAcquireCount = 0;
  #canceledAcquireCount = 0;
  #acquireTimeoutCount = 0;
  #acquireErrorCount = 0;
  #createdCount = 0;
  #connectErrorCount = 0;
  #leaksDetected = 0;
  #idleErrorCount = 0;
  readonly #destroyed: Record<DestroyReason, number> = { idle: 0, lifetime: 0, error: 0, shutdown: 0 };

  /** A successful acquisition that took `waitSeconds`; `empty` when no idle connection was ready. */
  acquired(waitSeconds: number, empty: boolean): void {
    this.#acquireCount += 1;
    this.#acquireDurationSeconds += waitSeconds;
    if (empty) this.#emptyAcquireCount += 1;
  }

  /** A failed acquisition (`closed` is not counted: the pool is gone). */
  acquireFailed(reason: AcquireFailure): void {
    if (reason === 'timeout') this.#acquireTimeoutCount += 1;
    else if (reason === 'canceled') this.#canceledAcquireCount += 1;
    else if (reason === 'error') this.#acquireErrorCount += 1;
  }

  /** A new connection is open. */
  created(): void {
    this.#createdCount += 1;
  }

  /** An attempt to open a connection failed (for an acquisition, the warm-up or housekeeping). */
  connectFailed(): void {
    this.#connectErrorCount += 1;
  }

  /** A connection was closed. */
  destroyed(reason: DestroyReason): void {
    this.#destroyed[reason] += 1;
  }

  /** A connection was held past the leak detection threshold. */
  leakDetected(): void {
    this.#leaksDetected += 1;
  }

  /** An idle connection emitted an error. */
  idleError(): void {
    this.#idleErrorCount += 1;
  }

  /** Counters plus `gauges`, frozen. */
  snapshot(gauges: PoolGauges): PoolStats {
    return Object.freeze({
      ...gauges,
      acquireCount: this.#acquireCount,
      acquireDurationSeconds: this.#acquireDurationSeconds,
      emptyAcquireCount: this.#emptyAcquireCount,
      canceledAcquireCount: this.#canceledAcquireCount,
      acquireTimeoutCount: this.#acquireTimeoutCount,
      acquireErrorCount: this.#acquireErrorCount,
      createdCount: this.#createdCount,
      connectErrorCount: this.#connectErrorCount,
      destroyedCount: Object.freeze({ ...this.#destroyed }),
      leaksDetected: this.#leaksDetected,
      idleErrorCount: this.#idleErrorCount,
    });
  }
}
