import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observability/logger.js';
import { describeError } from '../../observability/describe-error.js';
import type { PooledConnection } from '../../pool/instrumented-pool.js';
import { PoolClosedError } from '../../errors/pool-closed-error.js';
import type { ConnectionSession } from '../query-context.js';
import type { ResolvedMultiplexOptions } from './multiplex-options.js';
import { SharedConnection } from './shared-connection.js';

/** What a {@link SharedConnectionSet} needs from the driver. */
export interface SharedConnectionSetDependencies {
  readonly options: ResolvedMultiplexOptions;
  /** A new lease from the pool (through the breaker and the connect retries). */
  readonly acquire: () => Promise<PooledConnection>;
  readonly sessionOf: (pooled: PooledConnection) => ConnectionSession;
  /** Callers waiting for an exclusive connection from the same pool. */
  readonly poolWaiting: () => number;
  /**
   * Shared connections kept even when exclusive work waits for the pool (1, or 0 on a pool of one
   * connection): the shared statements must not starve either.
   */
  readonly keepUnderPressure: number;
  readonly logger: Logger;
  /** Name of the pool, for errors and logs. */
  readonly poolName: string;
}

interface Waiter {
  readonly resolve: (connection: SharedConnection) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The shared connections of one driver, and the routing of statements to them: a statement goes
 * to the serving connection with the fewest statements in flight, below `maxInFlight`; while the
 * least loaded one is busy and fewer than `connections` are open, one more is opened (the statement
 * does not wait for it); when every connection is at `maxInFlight`, statements wait in arrival
 * order for the first one to drain. Connections are taken from the pool lazily and handed back on
 * rotation (`rotateAfterMs`), at shutdown, or destroyed when they die.
 */
export class SharedConnectionSet {
  readonly #deps: SharedConnectionSetDependencies;
  /** One entry per slot: the serving connection there, or `undefined`. */
  readonly #slots: (SharedConnection | undefined)[];
  /** Slots whose connection is being opened. */
  readonly #opening: boolean[];
  /** Connections that left their slot and still run statements. */
  readonly #leaving = new Set<SharedConnection>();
  readonly #waiters: Waiter[] = [];
  readonly #timers = new Map<SharedConnection, NodeJS.Timeout>();
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(deps: SharedConnectionSetDependencies) {
    this.#deps = deps;
    this.#slots = new Array<SharedConnection | undefined>(deps.options.connections).fill(undefined);
    this.#opening = new Array<boolean>(deps.options.connections).fill(false);
  }

  /** Statements in flight on each slot's serving connection (0 for an empty slot). */
  inFlightBySlot(): number[] {
    return this.#slots.map((connection) => connection?.inFlight ?? 0);
  }

  /** Shared connections borrowed from the pool now: serving ones and those still draining before they go back. */
  get lent(): number {
    let count = this.#leaving.size;
    for (const connection of this.#slots) if (connection !== undefined && connection.state !== 'gone' && !this.#leaving.has(connection)) count += 1;
    return count;
  }

  /** Statements waiting for a shared connection to drain below `maxInFlight`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * A connection for one statement, its in-flight count already raised: at once when one has room,
   * else once one is opened or drains. The caller must call {@link finish} when the statement settles.
   * A statement still waiting when `signal` aborts (its deadline) stops waiting: the promise rejects
   * with the signal's reason.
   *
   * @throws what the pool throws when no connection is open and none can be opened
   *   (`AcquireTimeoutError`, `CircuitOpenError`…), `PoolClosedError` after {@link close}
   */
  take(signal?: AbortSignal): SharedConnection | Promise<SharedConnection> {
    if (this.#closed) return Promise.reject(new PoolClosedError(this.#deps.poolName));
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const { maxInFlight, slowStatementMs } = this.#deps.options;
    const now = performance.now();
    let best: SharedConnection | undefined;
    /** The best of the connections whose head statement has run for `slowStatementMs` (used only when all are so). */
    let stalled: SharedConnection | undefined;
    let emptySlot = -1;
    for (let slot = 0; slot < this.#slots.length; slot += 1) {
      const connection = this.#slots[slot];
      if (connection === undefined || !connection.serving) {
        if (connection !== undefined) this.#vacate(connection);
        if (emptySlot < 0 && !this.#opening[slot]) emptySlot = slot;
        continue;
      }
      if (connection.inFlight >= maxInFlight) continue;
      if (connection.stalled(now, slowStatementMs)) {
        if (stalled === undefined || connection.inFlight < stalled.inFlight) stalled = connection;
      } else if (best === undefined || connection.inFlight < best.inFlight) {
        best = connection;
      }
    }
    // another connection is opened while the best one is busy (it serves the next statements),
    // unless exclusive work waits for the pool: then the shared ones make do
    if (emptySlot >= 0 && (best === undefined || (best.inFlight > 0 && this.#deps.poolWaiting() === 0))) this.#open(emptySlot);
    // every serving connection is stuck behind a slow statement: queue behind the least loaded of
    // them, unless a fresh one is being opened (then wait for it, or for the first to make progress)
    if (best === undefined && stalled !== undefined && !this.#opening.includes(true)) best = stalled;
    if (best !== undefined) {
      best.start();
      return best;
    }
    return new Promise<SharedConnection>((resolve, reject) => {
      if (signal === undefined) {
        this.#waiters.push({ resolve, reject });
        return;
      }
      const waiter: Waiter = {
        resolve: (connection) => {
          signal.removeEventListener('abort', onAbort);
          resolve(connection);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * A statement taken with {@link take} settled: its connection may serve a waiting statement, or,
   * idle now while exclusive work waits for the pool (a transaction on a small pool, say), go back
   * to the pool so that the shared connections never starve the exclusive ones.
   */
  finish(connection: SharedConnection): void {
    connection.finish();
    if (!connection.serving) {
      // broken under a statement that still succeeded: out of its slot, and replaced for whoever waits
      if (connection.state !== 'gone') this.#vacate(connection);
      return;
    }
    // exclusive work waits for the pool: this one drains and goes back, unless it is one of those kept
    if (this.#deps.poolWaiting() > 0 && this.#serving() > this.#deps.keepUnderPressure) {
      this.#vacate(connection);
      return;
    }
    if (this.#waiters.length > 0) {
      if (connection.inFlight < this.#deps.options.maxInFlight) {
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) {
          connection.start();
          waiter.resolve(connection);
        }
      }
    }
  }

  #serving(): number {
    let count = 0;
    for (const connection of this.#slots) if (connection?.serving === true) count += 1;
    return count;
  }

  /**
   * The connection died under a statement (a fatal error, or the pool marked it broken): destroy
   * it and open another for whoever waits.
   */
  kill(connection: SharedConnection, error: unknown): void {
    if (connection.state === 'gone') return;
    this.#deps.logger.warn('shared connection failed; it is destroyed and its statements in flight fail', {
      connectionId: connection.pooled.id,
      slot: connection.slot,
      inFlight: connection.inFlight,
      error: describeError(error),
    });
    connection.kill(error);
  }

  /**
   * Takes the connection out of service until its statements in flight are done (a statement on it
   * was abandoned at its deadline and still runs: nothing more is queued behind it).
   */
  retire(connection: SharedConnection): void {
    this.#vacate(connection);
  }

  /**
   * Exclusive work is about to wait for a full pool: every shared connection but
   * `keepUnderPressure` of them takes no new statements and goes back to the pool (at once when
   * idle, else once drained), so that shared work, however steady, never starves exclusive work.
   * They are opened again when statements need them and the pool has room.
   */
  yieldToExclusive(): void {
    let serving = this.#serving();
    // the idle ones first (they go back at once), then the least loaded (they drain first)
    const candidates = this.#slots
      .filter((connection): connection is SharedConnection => connection?.serving === true)
      .sort((a, b) => a.inFlight - b.inFlight);
    for (const connection of candidates) {
      if (serving <= this.#deps.keepUnderPressure) return;
      this.#vacate(connection);
      serving -= 1;
    }
  }

  /** Takes no more statements; resolves once every shared connection is back in the pool. */
  close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new PoolClosedError(this.#deps.poolName));
    for (const connection of this.#slots) if (connection !== undefined) this.#vacate(connection);
    if (this.#leaving.size === 0 && !this.#opening.includes(true)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
  }

  /** Moves a connection out of its slot: it leaves once drained. */
  #vacate(connection: SharedConnection): void {
    const slot = connection.slot;
    if (this.#slots[slot] === connection) this.#slots[slot] = undefined;
    const timer = this.#timers.get(connection);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#timers.delete(connection);
    }
    if (connection.state !== 'gone') {
      this.#leaving.add(connection);
      connection.leave();
    }
    // someone waits and the slot is free now: open its replacement
    if (this.#waiters.length > 0 && !this.#closed && this.#slots[slot] === undefined && !this.#opening[slot]) this.#open(slot);
  }

  #open(slot: number): void {
    this.#opening[slot] = true;
    this.#deps.acquire().then(
      (pooled) => {
        this.#opening[slot] = false;
        if (this.#closed) {
          pooled.release();
          this.#checkDrained();
          return;
        }
        const connection = new SharedConnection(slot, pooled, this.#deps.sessionOf(pooled), (gone) => this.#gone(gone));
        this.#slots[slot] = connection;
        const timer = setTimeout(() => this.#vacate(connection), this.#deps.options.rotateAfterMs);
        timer.unref();
        this.#timers.set(connection, timer);
        this.#serveWaiters(connection);
      },
      (error: unknown) => {
        this.#opening[slot] = false;
        this.#deps.logger.debug('could not open a shared connection', { slot, error: describeError(error) });
        // the statements that wait have nowhere to go if no connection is serving: they fail with the pool's error
        if (!this.#slots.some((connection) => connection?.serving === true) && !this.#opening.includes(true)) {
          for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        }
        this.#checkDrained();
      },
    );
  }

  #serveWaiters(connection: SharedConnection): void {
    const maxInFlight = this.#deps.options.maxInFlight;
    while (this.#waiters.length > 0 && connection.serving && connection.inFlight < maxInFlight) {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) break;
      connection.start();
      waiter.resolve(connection);
    }
  }

  #gone(connection: SharedConnection): void {
    this.#leaving.delete(connection);
    if (this.#slots[connection.slot] === connection) this.#slots[connection.slot] = undefined;
    const timer = this.#timers.get(connection);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#timers.delete(connection);
    }
    if (this.#waiters.length > 0 && !this.#closed && this.#slots[connection.slot] === undefined && !this.#opening[connection.slot]) {
      this.#open(connection.slot);
    }
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (!this.#closed || this.#drained === undefined) return;
    if (this.#leaving.size > 0 || this.#opening.includes(true)) return;
    const drained = this.#drained;
    this.#drained = undefined;
    drained();
  }
}
