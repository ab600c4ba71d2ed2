import type { PostgresConfig } from '../config/postgres-config.js';
import { PoolClosedError } from '../errors/pool-closed-error.js';
import type { Logger } from '../observability/logger.js';
import type { ConnectionRecord } from './connection-record.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { describeError } from '../observability/describe-error.js';

/** What housekeeping needs from its pool. */
export interface HousekeepingPool {
  readonly closed: boolean;
  /** pg.Pool's `totalCount` (open and opening connections). */
  readonly totalCount: number;
  /** pg.Pool's `idleCount`. */
  readonly idleCount: number;
  /**
   * Checks out up to `count` connections with spare permits, never waiting (pg.Pool hands out its
   * idle connections first, then opens new ones); `decide` may destroy some; the others go back,
   * idle clocks unchanged, in the order that keeps pg's idle list as it was. Resolves to the
   * checkout failures.
   */
  checkOutSpare(count: number, decide: (held: readonly ConnectionRecord[]) => void): Promise<unknown[]>;
}

/**
 * Keeps a pool at `minConns` (warm-up) and closes idle connections that are due: past their
 * lifetime, broken, or idle longer than `maxConnIdleTimeMs` while the pool is above `minConns`.
 * Runs every `healthCheckPeriodMs` on an `unref()`ed timer.
 *
 * pg.Pool cannot remove one given idle client, but it always hands out idle clients before
 * opening new ones: so the sweep checks out every idle connection (only when one is due), destroys
 * the due ones and gives the others back.
 */
export class Housekeeping {
  readonly #config: PostgresConfig;
  readonly #poolName: string;
  readonly #logger: Logger;
  readonly #tracker: ConnectionTracker;
  readonly #pool: HousekeepingPool;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #warming: Promise<void> | undefined;

  constructor(options: {
    readonly config: PostgresConfig;
    readonly poolName: string;
    readonly logger: Logger;
    readonly tracker: ConnectionTracker;
    readonly pool: HousekeepingPool;
  }) {
    this.#config = options.config;
    this.#poolName = options.poolName;
    this.#logger = options.logger;
    this.#tracker = options.tracker;
    this.#pool = options.pool;
  }

  /** Starts the periodic rounds and a first warm-up in the background. */
  start(): void {
    const period = this.#config.healthCheckPeriodMs;
    if (period > 0) {
      this.#timer = setInterval(() => void this.#round(), period);
      this.#timer.unref();
    }
    if (this.#config.minConns > 0) this.warmUp().catch(() => undefined); // logged and counted by warmUp
  }

  /** Stops the periodic rounds. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** See {@link InstrumentedPool.warmUp}. */
  warmUp(): Promise<void> {
    if (this.#pool.closed) return Promise.reject(new PoolClosedError(this.#poolName));
    this.#warming ??= this.#warmUpOnce().finally(() => {
      this.#warming = undefined;
    });
    return this.#warming;
  }

  /** Whether an idle connection should be closed now. */
  isDue(record: ConnectionRecord, now: number): boolean {
    if (record.broken || now >= record.expiresAt) return true;
    const idleLimit = this.#config.maxConnIdleTimeMs;
    return idleLimit > 0 && now - record.lastReleasedAt >= idleLimit && this.#pool.totalCount > this.#config.minConns;
  }

  /** Closes the idle connections that are due (see the class comment). */
  async sweep(): Promise<void> {
    const now = performance.now();
    if (!this.#tracker.all().some((record) => record.state === 'idle' && this.isDue(record, now))) return;
    await this.#pool.checkOutSpare(this.#pool.idleCount, (held) => {
      const at = performance.now();
      const oldestIdleFirst = [...held].sort((a, b) => a.lastReleasedAt - b.lastReleasedAt);
      for (const record of oldestIdleFirst) {
        if (record.broken) this.#tracker.destroy(record, 'error');
        else if (at >= record.expiresAt) this.#tracker.destroy(record, 'lifetime');
        else if (this.isDue(record, at)) this.#tracker.destroy(record, 'idle');
      }
    });
  }

  async #warmUpOnce(): Promise<void> {
    const missing = this.#config.minConns - this.#pool.totalCount;
    if (missing <= 0) return;
    // The idle connections are checked out too, so that `missing` new ones are opened.
    const failures = await this.#pool.checkOutSpare(this.#pool.idleCount + missing, () => undefined);
    if (failures.length > 0 && !this.#pool.closed) {
      this.#logger.warn('warm-up could not open every connection', {
        pool: this.#poolName,
        minConns: this.#config.minConns,
        failed: failures.length,
        error: describeError(failures[0]),
      });
      throw failures[0];
    }
  }

  async #round(): Promise<void> {
    if (this.#pool.closed || this.#busy) return;
    this.#busy = true;
    try {
      await this.sweep();
      if (!this.#pool.closed) await this.warmUp();
    } catch {
      // warmUp logged and counted it; the next round tries again
    } finally {
      this.#busy = false;
    }
  }
}
