/**
 * The end of one acquisition's wait: its timeout, its caller's `AbortSignal`, or the pool closing,
 * whichever comes first. Each step of the acquisition races against it.
 */
import { DueEntry, DueQueue } from './due-queue.js';

/** Why an acquisition stopped waiting. */
export type DeadlineOutcome = 'timeout' | 'canceled' | 'closed';

/**
 * The timeouts of a pool's waiting acquisitions, on one timer: every acquisition of a pool waits
 * at most the same `acquireTimeoutMs`, so their deadlines come due in the order they began.
 */
export class DeadlineTimer {
  readonly timeoutMs: number;
  readonly queue = new DueQueue<AcquireDeadline>({ onDue: (deadline) => deadline.expireOnTimeout(), keepAlive: true });

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }
}

/** See the module comment. Call {@link dispose} when the acquisition settles. */
export class AcquireDeadline extends DueEntry {
  #outcome: DeadlineOutcome | undefined;
  #reject!: (error: unknown) => void;
  /** Rejects when the deadline comes (every acquisition races it at least once: no lazy creation). */
  readonly #expired: Promise<never>;
  readonly #timer: DeadlineTimer;
  readonly #timeoutError: () => Error;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  /**
   * @param timer the pool's deadline timer (its `timeoutMs` is the longest wait)
   * @param signal the caller's signal; its `reason` becomes the rejection
   * @param timeoutError builds the error of a timeout when it comes (so it can describe the pool then)
   */
  constructor(timer: DeadlineTimer, signal: AbortSignal | undefined, timeoutError: () => Error) {
    super(performance.now() + timer.timeoutMs);
    this.#expired = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.#expired.catch(() => undefined); // observed through race(); never unhandled
    this.#timer = timer;
    this.#timeoutError = timeoutError;
    timer.queue.add(this);
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.expire('canceled', signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Why the wait ended, or `undefined` while it goes on. */
  get outcome(): DeadlineOutcome | undefined {
    return this.#outcome;
  }

  /** Ends the wait now with `error` (first call wins). */
  expire(outcome: DeadlineOutcome, error: unknown): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.dispose();
    this.#reject(error);
  }

  /** The timer's call when the deadline has come. */
  expireOnTimeout(): void {
    if (this.#outcome === undefined) this.expire('timeout', this.#timeoutError());
  }

  /** `work`'s result, or the deadline's error if the deadline comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.#expired]);
  }

  /** Leaves the timer and stops the abort listener. */
  dispose(): void {
    this.#timer.queue.remove(this);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
