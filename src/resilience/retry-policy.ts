import { ExponentialBackoff, fullJitterGenerator, handleWhen, retry } from 'cockatiel';
import type { ResolvedRetryOptions } from './retry-options.js';

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

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
  readonly reason: RetryReason;
  /** Whether the failed attempt may be repeated. Called with every failure, the last one included. */
  readonly shouldRetry: (error: unknown, attempt: number) => boolean;
  /** Called before each delay. Must not throw. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Stops retrying: an attempt is not started once it has aborted (its reason is thrown). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs an operation and, when it fails in a way `shouldRetry` accepts, runs it again after an
 * exponential, fully jittered, capped delay, until it succeeds or the attempt budget is spent
 * (the last error is thrown). Backoff and the retry loop are cockatiel's.
 *
 * The first attempt runs directly: an operation that succeeds costs one `try`. Only after a
 * retryable failure is a cockatiel policy built, whose own first "attempt" rethrows that failure,
 * so that cockatiel's backoff governs every delay, the first one included.
 */
export class RetryPolicy {
  readonly options: ResolvedRetryOptions;

  constructor(options: ResolvedRetryOptions) {
    this.options = options;
  }

  /** Runs `run(attempt)` (attempt is 1-based), retrying as described on the class. */
  async execute<T>(run: (attempt: number) => Promise<T>, control: RetryControl): Promise<T> {
    const { maxAttempts } = this.options;
    let first: unknown;
    try {
      return await run(1);
    } catch (error) {
      if (maxAttempts <= 1 || !control.shouldRetry(error, 1)) throw error;
      first = error;
    }
    let current = 1;
    const signal = control.signal;
    const policy = retry(
      handleWhen((error) => !(signal?.aborted ?? false) && control.shouldRetry(error, current)),
      {
        maxAttempts: maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: this.options.initialDelayMs,
          maxDelay: this.options.maxDelayMs,
          generator: fullJitterGenerator,
        }),
      },
    );
    const listener = policy.onRetry((event) => {
      if (control.onRetry === undefined) return;
      control.onRetry({
        reason: control.reason,
        attempt: current,
        maxAttempts,
        delayMs: event.delay,
        error: 'error' in event ? event.error : undefined,
      });
    });
    const retried = policy.execute(async ({ attempt }) => {
      if (attempt === 0) throw first;
      current = attempt + 1;
      if (signal?.aborted) throw signal.reason;
      return await run(current);
    }, signal);
    try {
      if (signal === undefined) return await retried;
      // cockatiel's backoff delay cannot be interrupted: an abort ends the wait here (the loop then stops by itself)
      retried.catch(() => undefined);
      return await abortable(retried, signal);
    } finally {
      listener.dispose();
    }
  }
}
