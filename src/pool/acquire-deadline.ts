/**
 * The end of one acquisition's wait: its timeout, its caller's `AbortSignal`, or the pool closing,
 * whichever comes first. Each step of the acquisition races against it.
 */

/** Why an acquisition stopped waiting. */
export type DeadlineOutcome = 'timeout' | 'canceled' | 'closed';

/** See the module comment. Call {@link dispose} when the acquisition settles. */
export class AcquireDeadline {
  #outcome: DeadlineOutcome | undefined;
  #reject!: (error: unknown) => void;
  /** Rejects when the deadline comes (every acquisition races it at least once: no lazy creation). */
  readonly #expired: Promise<never>;
  readonly #timer: NodeJS.Timeout;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  /**
   * @param timeoutMs the longest wait
   * @param signal the caller's signal; its `reason` becomes the rejection
   * @param timeoutError builds the error of a timeout when the timer fires (so it can describe the pool then)
   */
  constructor(timeoutMs: number, signal: AbortSignal | undefined, timeoutError: () => Error) {
    this.#expired = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.#expired.catch(() => undefined); // observed through race(); never unhandled
    this.#timer = setTimeout(expireOnTimeout, timeoutMs, this, timeoutError);
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

  /** `work`'s result, or the deadline's error if the deadline comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.#expired]);
  }

  /** Stops the timer and the abort listener. */
  dispose(): void {
    clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

function expireOnTimeout(deadline: AcquireDeadline, timeoutError: () => Error): void {
  deadline.expire('timeout', timeoutError());
}
