/**
 * The end of one acquisition's wait: its timeout, its caller's `AbortSignal`, or the pool closing,
 * whichever comes first. Each step of the acquisition races against it.
 */
import { timerDelay } from './condition-waiter.js';

/** Why an acquisition stopped waiting. */
export type DeadlineOutcome = 'timeout' | 'canceled' | 'closed';

/**
 * The timeouts of a pool's waiting acquisitions, on one timer. Every acquisition of a pool waits
 * at most the same `acquireTimeoutMs`, so their deadlines come due in the order they began: they
 * are kept in a list in that order, and the one timer is set for the oldest. A deadline costs a
 * list insertion and removal instead of a timer set and cleared (timers were about an eighth of
 * the CPU of a contended acquisition, measured with 64 callers on 4 connections).
 */
export class DeadlineTimer {
  readonly timeoutMs: number;
  #oldest: AcquireDeadline | undefined;
  #newest: AcquireDeadline | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onTimer = (): void => this.#sweep();

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Adds `deadline` (the newest: it comes due last). */
  add(deadline: AcquireDeadline): void {
    deadline.linked = true;
    deadline.previous = this.#newest;
    if (this.#newest === undefined) this.#oldest = deadline;
    else this.#newest.next = deadline;
    this.#newest = deadline;
    if (this.#timer === undefined) this.#arm(deadline.dueAt);
    else if (deadline.previous === undefined) this.#timer.ref();
  }

  /** Removes `deadline`; the timer stays set (when it fires early, it is set again for the then oldest). */
  remove(deadline: AcquireDeadline): void {
    if (!deadline.linked) return;
    deadline.linked = false;
    const { previous, next } = deadline;
    if (previous === undefined) this.#oldest = next;
    else previous.next = next;
    if (next === undefined) this.#newest = previous;
    else next.previous = previous;
    deadline.previous = undefined;
    deadline.next = undefined;
    // nobody waits: the timer may fire for nothing once, but must not keep the process alive
    // (clearing and setting it again as waiters come and go cost more than the idle firing)
    if (this.#oldest === undefined) this.#timer?.unref();
  }

  #arm(dueAt: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(timerDelay(dueAt - performance.now()))));
  }

  /** Expires every deadline that has come due, oldest first, then sets the timer for the next one. */
  #sweep(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let deadline = this.#oldest; deadline !== undefined && deadline.dueAt <= now; deadline = this.#oldest) {
      this.remove(deadline);
      deadline.expireOnTimeout();
    }
    if (this.#oldest !== undefined) this.#arm(this.#oldest.dueAt);
  }
}

/** See the module comment. Call {@link dispose} when the acquisition settles. */
export class AcquireDeadline {
  /** When the timeout comes (`performance.now()` clock). */
  readonly dueAt: number;
  /** Neighbours in the {@link DeadlineTimer}'s list while `linked`. */
  previous: AcquireDeadline | undefined;
  next: AcquireDeadline | undefined;
  linked = false;
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
    this.#expired = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.#expired.catch(() => undefined); // observed through race(); never unhandled
    this.dueAt = performance.now() + timer.timeoutMs;
    this.#timer = timer;
    this.#timeoutError = timeoutError;
    timer.add(this);
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
    this.#timer.remove(this);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
