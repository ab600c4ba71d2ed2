import type { Logger } from '../observability/logger.js';
import { DueEntry, DueQueue } from './due-queue.js';
import type { PoolCounters } from './pool-counters.js';
import type { ObserverCaller } from './safe-hooks.js';

/** One borrowed connection being watched. */
export interface LeakWatch {
  /** Stops watching at release; logs that a connection reported as leaked came back. */
  stop(): void;
  /** Stops watching without any report (the pool took the connection back at `close()`). */
  cancel(): void;
}

const NOT_WATCHED: LeakWatch = Object.freeze({ stop: () => undefined, cancel: () => undefined });

/** The log line's explanation when a leak's acquisition stack was not recorded. */
const STACK_NOT_RECORDED =
  'acquisition stacks are recorded from the first leak of this pool on; a repeat of this leak will show its stack';

/** The log line's explanation when the runtime gave a recorded acquisition no stack. */
const NO_STACK = 'the runtime produced no stack trace for this acquisition';

/**
 * How many frames an acquisition's stack keeps at least. The default `Error.stackTraceLimit` (10)
 * is used up inside Kysely's call chain (executor, connection provider, driver, pool) before the
 * caller's own frames.
 */
const ORIGIN_STACK_FRAMES = 30;

/**
 * A borrowed connection being watched (internal to the leak detector): an entry of the detector's
 * queue, due when the threshold has passed.
 */
export class ActiveWatch extends DueEntry implements LeakWatch {
  readonly detector: LeakDetector;
  readonly connectionId: number;
  readonly acquiredAt: number;
  readonly origin: Error | undefined;
  leaked = false;

  constructor(detector: LeakDetector, connectionId: number, acquiredAt: number, origin: Error | undefined, thresholdMs: number) {
    super(acquiredAt + thresholdMs);
    this.detector = detector;
    this.connectionId = connectionId;
    this.acquiredAt = acquiredAt;
    this.origin = origin;
  }

  stop(): void {
    this.detector.unwatch(this);
    if (this.leaked) this.detector.returned(this);
  }

  cancel(): void {
    this.detector.unwatch(this);
  }
}

/**
 * HikariCP-style leak detection: a connection held longer than the threshold is reported once,
 * with the stack of the code that acquired it; its eventual release is reported too.
 * Off (no stack captured, no timer) when the threshold is 0.
 *
 * Stacks are recorded adaptively. Recording one (`new Error()` in Kysely's deep async call chain)
 * measurably slows every acquisition (`npm run bench`, docs/performance.md), while leaks are rare
 * and usually repeat. So until this pool's first leak, an acquisition records no stack and that
 * first report has no stack (`stackRecorded: false`); from then on every acquisition records its
 * stack (formatted only if reported), so the next leak of the same code path names it.
 *
 * One timer serves every watch: watches begin in the order they come due, so they are kept in a
 * list in that order and the timer is set for the oldest. Watching costs a list insertion and
 * removal per acquisition instead of a timer set and cleared (about 1 µs less per statement).
 */
export class LeakDetector {
  readonly #thresholdMs: number;
  readonly #poolName: string;
  readonly #logger: Logger;
  readonly #counters: PoolCounters;
  readonly #observer: ObserverCaller;
  #recordStacks = false;
  /** The watched connections, on one `unref()`ed timer. */
  readonly #watches = new DueQueue<ActiveWatch>({
    onDue: (watch) => {
      watch.leaked = true;
      this.leaked(watch);
    },
    keepAlive: false,
  });

  constructor(options: {
    readonly thresholdMs: number;
    readonly poolName: string;
    readonly logger: Logger;
    readonly counters: PoolCounters;
    readonly observer: ObserverCaller;
  }) {
    this.#thresholdMs = options.thresholdMs > 0 ? options.thresholdMs : 0;
    this.#poolName = options.poolName;
    this.#logger = options.logger;
    this.#counters = options.counters;
    this.#observer = options.observer;
  }

  /**
   * The acquiring call site, once stacks are recorded (after the pool's first leak): an `Error`
   * whose `stack` is formatted only if the connection leaks. It keeps at least
   * {@link ORIGIN_STACK_FRAMES} frames (`Error.stackTraceLimit` is raised for the capture only).
   * Call synchronously at the start of `acquire()`.
   */
  captureOrigin(): Error | undefined {
    if (!this.#recordStacks) return undefined;
    const limit = Error.stackTraceLimit;
    if (!(limit >= ORIGIN_STACK_FRAMES)) Error.stackTraceLimit = ORIGIN_STACK_FRAMES;
    try {
      return new Error('connection acquired here');
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** Starts watching a connection handed out at `acquiredAt` (`performance.now()`). */
  watch(connectionId: number, acquiredAt: number, origin: Error | undefined): LeakWatch {
    if (this.#thresholdMs === 0) return NOT_WATCHED;
    const watch = new ActiveWatch(this, connectionId, acquiredAt, origin, this.#thresholdMs);
    this.#watches.add(watch);
    return watch;
  }

  /** Stops watching `watch` (no report). */
  unwatch(watch: ActiveWatch): void {
    this.#watches.remove(watch);
  }

  /** `watch` has been held past the threshold. */
  leaked(watch: ActiveWatch): void {
    const { connectionId, origin } = watch;
    const heldSeconds = (performance.now() - watch.acquiredAt) / 1000;
    const stack = origin?.stack;
    const stackRecorded = stack !== undefined;
    this.#recordStacks = true;
    this.#counters.leakDetected();
    this.#logger.warn('connection held longer than the leak detection threshold; possible leak', {
      pool: this.#poolName,
      connectionId,
      thresholdMs: this.#thresholdMs,
      heldSeconds,
      stack,
      ...(stackRecorded ? {} : { note: origin === undefined ? STACK_NOT_RECORDED : NO_STACK }),
    });
    this.#observer.emit('onLeak', { connectionId, heldSeconds, stack, stackRecorded });
  }

  /** A connection reported as leaked came back. */
  returned(watch: ActiveWatch): void {
    this.#logger.warn('connection previously reported as leaked was returned', {
      pool: this.#poolName,
      connectionId: watch.connectionId,
      heldSeconds: (performance.now() - watch.acquiredAt) / 1000,
    });
  }
}
