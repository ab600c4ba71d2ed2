import type { Logger } from '../observability/logger.js';
import type { PoolCounters } from './pool-counters.js';
import type { ObserverCaller } from './safe-hooks.js';

/** One borrowed connection being watched. */
export interface LeakWatch {
  /** Stops watching at release; logs that a connection reported as leaked came back. */
  stop(): void;
}

const NOT_WATCHED: LeakWatch = Object.freeze({ stop: () => undefined });

/**
 * HikariCP-style leak detection: a connection held longer than the threshold is reported once,
 * with the stack of the code that acquired it; its eventual release is reported too.
 * Off (no stack captured, no timer) when the threshold is 0.
 */
export class LeakDetector {
  readonly #thresholdMs: number;
  readonly #poolName: string;
  readonly #logger: Logger;
  readonly #counters: PoolCounters;
  readonly #observer: ObserverCaller;

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

  /** The acquiring stack, when detection is on. Call synchronously at the start of `acquire()`. */
  captureStack(): string | undefined {
    if (this.#thresholdMs === 0) return undefined;
    return new Error('connection acquired here').stack ?? 'connection acquired here (no stack)';
  }

  /** Starts watching a connection handed out at `acquiredAt` (`performance.now()`). */
  watch(connectionId: number, acquiredAt: number, stack: string | undefined): LeakWatch {
    if (this.#thresholdMs === 0 || stack === undefined) return NOT_WATCHED;
    let leaked = false;
    const timer = setTimeout(() => {
      leaked = true;
      const heldSeconds = (performance.now() - acquiredAt) / 1000;
      this.#counters.leakDetected();
      this.#logger.warn('connection held longer than the leak detection threshold; possible leak', {
        pool: this.#poolName,
        connectionId,
        thresholdMs: this.#thresholdMs,
        heldSeconds,
        stack,
      });
      this.#observer.emit('onLeak', { connectionId, heldSeconds, stack });
    }, this.#thresholdMs);
    timer.unref();
    return {
      stop: () => {
        clearTimeout(timer);
        if (leaked) {
          this.#logger.warn('connection previously reported as leaked was returned', {
            pool: this.#poolName,
            connectionId,
            heldSeconds: (performance.now() - acquiredAt) / 1000,
          });
        }
      },
    };
  }
}
