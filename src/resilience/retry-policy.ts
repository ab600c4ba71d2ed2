import { setTimeout as delay } from 'node:timers/promises';
import { ExponentialBackoff, fullJitterGenerator, type IBackoff } from 'cockatiel';
import type { ResolvedRetryOptions } from './retry-options.js';

/** One retry about to happen: reported to loggers and metrics before the delay starts. */
export interface RetryEvent {
  /** Why the operation may be repeated: a connection that could not be opened, a read, or a whole transaction. */
  readonly reason: RetryReason;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** Attempts allowed in all. */
  readonly maxAttempts: number;
  /** The delay before the next attempt, in milliseconds. */
  readonly delayMs: number;
  /** The error of the failed attempt. */
  readonly error: unknown;
}

/** What kind of operation is retried. */
export type RetryReason = 'connect' | 'read' | 'transaction';

/** What one call of {@link RetryPolicy.execute} needs besides the operation. */
export interface RetryControl {
  /** What kind of operation this is; passed on in every {@link RetryEvent}. */
  readonly reason: RetryReason;
  /** Whether the failed attempt may be repeated. Called with every failure, the last one included (not after an abort). */
  readonly shouldRetry: (error: unknown, attempt: number) => boolean;
  /** Called before each delay. Must not throw. */
  readonly onRetry?: (event: RetryEvent) => void;
  /**
   * Stops retrying: no attempt starts once it has aborted. Aborted during a backoff delay, the
   * delay ends at once and its reason is thrown; aborted while an attempt runs, that attempt is
   * not interrupted and its own outcome is final.
   */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs an operation and, when it fails in a way `shouldRetry` accepts, runs it again after an
 * exponential, fully jittered, capped delay (cockatiel's `ExponentialBackoff` with its
 * `fullJitterGenerator`), until it succeeds or the attempt budget is spent (the last error is
 * thrown).
 *
 * The loop is ours rather than cockatiel's `retry()`: an aborted signal must end a backoff delay
 * at once, which cockatiel's loop cannot, and must never interrupt an attempt that is running (its
 * outcome, e.g. a commit, would be lost to the caller). The first attempt runs directly: an
 * operation that succeeds costs one `try`, and the backoff is only built after a failure.
 */
export class RetryPolicy {
  /** The attempt budget and the delays' bounds. */
  readonly options: ResolvedRetryOptions;

  constructor(options: ResolvedRetryOptions) {
    this.options = options;
  }

  /** Runs `run(attempt)` (attempt is 1-based), retrying as described on the class. */
  async execute<T>(run: (attempt: number) => Promise<T>, control: RetryControl): Promise<T> {
    const { maxAttempts } = this.options;
    const signal = control.signal;
    let backoff: IBackoff<unknown> | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await run(attempt);
      } catch (error) {
        // the caller left while this attempt ran: no further attempt; the attempt's own failure is the outcome
        if (signal?.aborted) throw error;
        if (maxAttempts <= 1 || !control.shouldRetry(error, attempt) || attempt >= maxAttempts) throw error;
        backoff = (backoff ?? this.#backoff()).next(undefined);
        const delayMs = backoff.duration;
        if (control.onRetry !== undefined) {
          try {
            control.onRetry({ reason: control.reason, attempt, maxAttempts, delayMs, error });
          } catch {
            // reporting must never change the outcome
          }
        }
        try {
          await delay(delayMs, undefined, signal === undefined ? undefined : { signal });
        } catch {
          // aborted during the delay: the caller gets the signal's reason, no further attempt starts
          throw signal?.reason ?? error;
        }
      }
    }
  }

  #backoff(): ExponentialBackoff<number> {
    return new ExponentialBackoff({
      initialDelay: this.options.initialDelayMs,
      maxDelay: this.options.maxDelayMs,
      generator: fullJitterGenerator,
    });
  }
}
