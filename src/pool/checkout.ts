import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { describeError } from '../observability/describe-error.js';
import type { ConnectionRecord } from './connection-record.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { PermitQueue } from './permit-queue.js';
import type { PoolCounters } from './pool-counters.js';
import type { PoolState } from './pool-state.js';
import type { TlsFallback } from './tls-fallback-client.js';

/** What a {@link ConnectionCheckout} takes connections from and reports to. */
export interface ConnectionCheckoutOptions {
  readonly pg: pg.Pool;
  readonly tls: TlsFallback;
  readonly tracker: ConnectionTracker;
  readonly permits: PermitQueue;
  readonly counters: PoolCounters;
  readonly state: PoolState;
  readonly logger: Logger;
  readonly poolName: string;
}

/**
 * Takes connections out of pg.Pool (the caller holds a permit for each, so pg.Pool never queues)
 * and puts back those that were not handed to a caller: checked out by housekeeping, or arrived
 * after their caller left.
 */
export class ConnectionCheckout {
  readonly #pg: pg.Pool;
  readonly #tls: TlsFallback;
  readonly #tracker: ConnectionTracker;
  readonly #permits: PermitQueue;
  readonly #counters: PoolCounters;
  readonly #state: PoolState;
  readonly #logger: Logger;
  readonly #poolName: string;
  /** Built once: each checkout passes these instead of allocating closures. */
  readonly #connectPg = (): Promise<pg.PoolClient> => this.#pg.connect();
  readonly #connectFailed = (error: unknown): never => {
    if (!this.#state.closed) {
      this.#counters.connectFailed();
      this.#logger.debug('could not open a connection', { pool: this.#poolName, error: describeError(error) });
    }
    throw error;
  };

  constructor(options: ConnectionCheckoutOptions) {
    this.#pg = options.pg;
    this.#tls = options.tls;
    this.#tracker = options.tracker;
    this.#permits = options.permits;
    this.#counters = options.counters;
    this.#state = options.state;
    this.#logger = options.logger;
    this.#poolName = options.poolName;
  }

  /** A checkout for a caller: idle connections found broken or expired are closed and replaced. */
  async forCaller(): Promise<ConnectionRecord> {
    for (;;) {
      const record = this.#tracker.recordOf(await this.#checkout());
      if (record.state === 'new') return record;
      if (record.broken) this.#tracker.destroy(record, 'error');
      else if (performance.now() >= record.expiresAt) this.#tracker.destroy(record, 'lifetime');
      else return record;
    }
  }

  /**
   * The fast path's checkout, when pg.Pool holds an idle connection: that connection, or
   * `undefined` when it was broken or past its lifetime (then it is closed, and the caller goes on
   * to {@link forCaller} with the permit it holds).
   */
  async takeIdle(): Promise<ConnectionRecord | undefined> {
    const record = this.#tracker.recordOf(await this.#checkout());
    if (record.state === 'new') return record;
    if (record.broken) this.#tracker.destroy(record, 'error');
    else if (performance.now() >= record.expiresAt) this.#tracker.destroy(record, 'lifetime');
    else return record;
    return undefined;
  }

  /** Closes a connection the pool holds (handed over, found broken) without freeing its permit. */
  discard(record: ConnectionRecord): void {
    this.#tracker.destroy(record, this.#state.closed ? 'shutdown' : 'error');
  }

  /**
   * Gives back a connection checked out by housekeeping, or for a caller who left, and frees its
   * permit. Its idle clock is not reset (the sweep and the warm-up do not count as use).
   */
  returnUnused(record: ConnectionRecord): void {
    if (this.#state.closed) this.#tracker.destroy(record, 'shutdown');
    else if (record.broken) this.#tracker.destroy(record, 'error');
    else {
      record.state = 'idle';
      record.client.release();
    }
    this.#permits.release();
    this.#state.changes.notify();
  }

  /** See {@link HousekeepingPool.checkOutSpare}. */
  async checkOutSpare(count: number, decide: (held: readonly ConnectionRecord[]) => void): Promise<unknown[]> {
    let permits = 0;
    while (permits < count && this.#permits.tryTake()) permits += 1;
    if (permits === 0) return [];
    const checkouts: Promise<pg.PoolClient>[] = [];
    for (let i = 0; i < permits; i += 1) checkouts.push(this.#checkout());
    const results = await Promise.allSettled(checkouts);
    const held: ConnectionRecord[] = [];
    const failures: unknown[] = [];
    for (const result of results) {
      if (result.status === 'fulfilled') {
        const record = this.#tracker.recordOf(result.value);
        record.state = 'housekeeping';
        held.push(record);
      } else {
        failures.push(result.reason);
        this.#permits.release();
      }
    }
    if (!this.#state.closed) {
      try {
        decide(held);
      } catch (error) {
        // Whatever happened, every connection held here goes back below.
        this.#logger.error('pool housekeeping failed', { pool: this.#poolName, error: describeError(error) });
      }
    }
    // pg.Pool handed out its idle list from the top: giving back in reverse keeps its order.
    for (const record of held.reverse()) {
      if (record.state === 'closing') this.#permits.release();
      else this.returnUnused(record);
    }
    this.#state.changes.notify();
    return failures;
  }

  /**
   * One `pg.Pool.connect()`, with the TLS fallback when the `sslmode` has one (otherwise pg.Pool's
   * promise directly); counts failed connects.
   */
  #checkout(): Promise<pg.PoolClient> {
    const connecting = this.#tls.hasFallback ? this.#tls.connect(this.#connectPg) : this.#pg.connect();
    return connecting.catch(this.#connectFailed);
  }
}
