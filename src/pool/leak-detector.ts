import type { Logger } from '../observability/logger.js';
import type { PoolCounters } from './pool-counters.js';
import type { ObserverCaller } from './safe-hooks.js';

/** One borrowed connection being watched. */
export interface LeakWatch {
  /** Stops watching at release; logs that a connection reported as leaked came back. */
  stop(): void;
}

const NOT_WATCHED: LeakWatch = Object.freeze({ stop: () => undefined });

/** What a report says when the acquisition's stack was not recorded. */
const STACK_NOT_RECORDED =
  'not recorded: acquisition stacks are recorded from the first leak of this pool on; a repeat of this leak will show its stack';

/** The stack of an acquisition, formatted only if it is ever reported. */
function stackOf(origin: Error | undefined): string {
  if (origin === undefined) return STACK_NOT_RECORDED;
  return origin.stack ?? 'connection acquired here (no stack)';
}

/** A watch with a running timer (internal to the leak detector). */
export class ActiveWatch implements LeakWatch {
  readonly detector: LeakDetector;
  readonly connectionId: number;
  readonly acquiredAt: number;
  readonly origin: Error | undefined;
  readonly timer: NodeJS.Timeout;
  leaked = false;

  constructor(detector: LeakDetector, connectionId: number, acquiredAt: number, origin: Error | undefined, thresholdMs: number) {
    this.detector = detector;
    this.connectionId = connectionId;
    this.acquiredAt = acquiredAt;
    this.origin = origin;
    this.timer = setTimeout(fire, thresholdMs, this);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    if (this.leaked) this.detector.returned(this);
  }
}

function fire(watch: ActiveWatch): void {
  watch.leaked = true;
  watch.detector.leaked(watch);
}

/**
 * HikariCP-style leak detection: a connection held longer than the threshold is reported once,
 * with the stack of the code that acquired it; its eventual release is reported too.
 * Off (no stack captured, no timer) when the threshold is 0.
 *
 * Stacks are recorded adaptively. Recording one (`new Error()` in Kysely's deep async call chain)
 * measurably slows every acquisition (`npm run bench`, docs/performance.md), while leaks are rare
 * and usually repeat. So until this pool's first leak, an acquisition costs one timer only and
 * that first report says its stack was not recorded; from then on every acquisition records its
 * stack (formatted only if reported), so the next leak of the same code path names it.
 */
export class LeakDetector {
  readonly #thresholdMs: number;
  readonly #poolName: string;
  readonly #logger: Logger;
  readonly #counters: PoolCounters;
  readonly #observer: ObserverCaller;
  #recordStacks = false;

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
   * The acquiring call site, when detection is on: an `Error` whose `stack` is read only if the
   * connection leaks. Call synchronously at the start of `acquire()`.
   */
  captureOrigin(): Error | undefined {
    if (!this.#recordStacks) return undefined;
    return new Error('connection acquired here');
  }

  /** True once a leak was seen: acquisitions record their stacks. */
  get recordingStacks(): boolean {
    return this.#recordStacks;
  }

  /** Starts watching a connection handed out at `acquiredAt` (`performance.now()`). */
  watch(connectionId: number, acquiredAt: number, origin: Error | undefined): LeakWatch {
    if (this.#thresholdMs === 0) return NOT_WATCHED;
    return new ActiveWatch(this, connectionId, acquiredAt, origin, this.#thresholdMs);
  }

  /** The leak timer of `watch` fired. */
  leaked(watch: ActiveWatch): void {
    const { connectionId } = watch;
    const heldSeconds = (performance.now() - watch.acquiredAt) / 1000;
    const stack = stackOf(watch.origin);
    if (!this.#recordStacks && this.#thresholdMs > 0) this.#recordStacks = true;
    this.#counters.leakDetected();
    this.#logger.warn('connection held longer than the leak detection threshold; possible leak', {
      pool: this.#poolName,
      connectionId,
      thresholdMs: this.#thresholdMs,
      heldSeconds,
      stack,
    });
    this.#observer.emit('onLeak', { connectionId, heldSeconds, stack });
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
