import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { describeError } from '../observability/describe-error.js';
import type { Acquisition } from './acquisition.js';
import { timerDelay } from './condition-waiter.js';
import type { ConnectionRecord } from './connection-record.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { Housekeeping } from './housekeeping.js';
import type { PermitQueue } from './permit-queue.js';
import type { PoolState } from './pool-state.js';
import { processIdOf } from './pooled-connection.js';
import { settlesWithin } from './settles-within.js';
import { terminateBackends, type TerminateBackendsContext } from './terminate-backends.js';

/** Default of {@link CloseOptions.timeoutMs}. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * How long `close()` may take beyond its `timeoutMs`: for terminating the backends of connections
 * still borrowed (one control connection and one statement), then for `pg.Pool.end()` and the last
 * sockets to close. `close()` resolves at the latest this long after its `timeoutMs`.
 */
export const CLOSE_GRACE_MS = 2_000;

/** What a {@link Shutdown} closes, and how it reaches the server for the stranded connections. */
export interface ShutdownOptions extends TerminateBackendsContext {
  readonly pg: pg.Pool;
  readonly housekeeping: Housekeeping;
  readonly acquisition: Acquisition;
  readonly tracker: ConnectionTracker;
  readonly permits: PermitQueue;
  readonly state: PoolState;
}

/**
 * A pool's `close()`: waiting acquisitions fail, idle connections close at once, borrowed ones get
 * `timeoutMs` to come back; then their backends are terminated from one control connection
 * outside the pool and they are destroyed. The whole close is bounded by `timeoutMs` plus
 * {@link CLOSE_GRACE_MS}.
 */
export class Shutdown {
  readonly #options: ShutdownOptions;
  readonly #logger: Logger;
  readonly #poolName: string;

  constructor(options: ShutdownOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#poolName = options.poolName;
  }

  /** Closes the pool (call once). */
  async run(timeoutMs: number): Promise<void> {
    const { pg: pgPool, housekeeping, acquisition, tracker, state } = this.#options;
    const waitMs = timerDelay(timeoutMs);
    const hardDeadline = performance.now() + waitMs + CLOSE_GRACE_MS;
    state.close();
    housekeeping.stop();
    acquisition.closeAll();
    for (const record of tracker.all()) {
      if (record.state === 'idle') record.destroyReason ??= 'shutdown';
    }
    // Checkouts already queued in pg.Pool (the fast path's, housekeeping's) are served from its idle
    // list on its next ticks; pg.Pool.end() would leave them queued for good (the acquisition would
    // never settle): it is called once they are served (they see the pool closed and give back).
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Idle connections close now; borrowed ones as they come back (the release verdict: 'shutdown').
    const ended = pgPool.end().catch((error: unknown) =>
      this.#logger.error('pg.Pool.end() failed', { pool: this.#poolName, error: describeError(error) }),
    );
    const returned = await state.changes.until(() => state.borrowed === 0, waitMs);
    if (!returned) await this.#reclaimBorrowed(timeoutMs, hardDeadline);
    // pg.Pool.end() waits for every client, including one still connecting (which, with
    // connectTimeoutMs 0, may never finish): the close does not wait for it past its bound.
    if (!(await settlesWithin(ended, hardDeadline - performance.now()))) {
      this.#logger.warn('pool did not finish closing within the close timeout; connections still opening or closing are left to finish', {
        pool: this.#poolName,
        timeoutMs,
        graceMs: CLOSE_GRACE_MS,
        total: pgPool.totalCount,
      });
      return;
    }
    const removed = await state.changes.until(() => tracker.size === 0, hardDeadline - performance.now());
    if (!removed) {
      this.#logger.debug('some sockets had not closed when close() returned', { pool: this.#poolName, open: tracker.size });
    }
  }

  /**
   * `close()` timed out with connections still borrowed: revokes their handles, terminates their
   * backends (so that their statements stop on the server), then destroys them.
   */
  async #reclaimBorrowed(timeoutMs: number, hardDeadline: number): Promise<void> {
    const { tracker, permits, state } = this.#options;
    const stranded: ConnectionRecord[] = [];
    for (const record of tracker.all()) {
      if (record.state !== 'borrowed' || record.borrower?.revoke() !== true) continue;
      this.#logger.warn('connection not released before the close timeout; terminating its backend and closing it', {
        pool: this.#poolName,
        connectionId: record.id,
        processId: processIdOf(record.client),
        timeoutMs,
      });
      record.leakWatch?.cancel(); // taken back, not returned: no "leak returned" report
      record.leakWatch = undefined;
      record.borrower = undefined;
      // Not 'borrowed' any more: the errors its termination causes are expected, not warned about.
      record.state = 'closing';
      record.destroyReason ??= 'shutdown';
      state.returned();
      stranded.push(record);
    }
    if (stranded.length === 0) return;
    await terminateBackends(this.#options, stranded, hardDeadline);
    for (const record of stranded) {
      tracker.destroy(record, 'shutdown');
      permits.release();
    }
    state.changes.notify();
  }
}
