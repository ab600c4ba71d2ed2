import { QueryTimeoutError } from '../errors/query-timeout-error.js';

/**
 * The client-side end of one `executeQuery` call, all its attempts included: a timeout
 * (`queryTimeoutMs`), the caller's `AbortSignal`, or both, whichever comes first. When it fires,
 * {@link race} rejects at once, with a `QueryTimeoutError` for the timeout or the signal's reason
 * for an abort, and calls the `onExpire` callback of the statement then running (to cancel it).
 */
export class StatementDeadline {
  readonly #signal: AbortSignal | undefined;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onCallerAbort: (() => void) | undefined;
  /** Set when the timeout (not the caller) fired the deadline. */
  #timedOut = false;

  /**
   * @param timeoutMs 0 for none
   * @param signal the caller's signal, if any
   */
  constructor(timeoutMs: number, signal: AbortSignal | undefined) {
    this.#signal = signal;
    if (signal?.aborted) {
      this.#controller.abort(signal.reason);
    } else {
      if (signal !== undefined) {
        this.#onCallerAbort = () => this.#controller.abort(signal.reason);
        signal.addEventListener('abort', this.#onCallerAbort, { once: true });
      }
      if (timeoutMs > 0) {
        this.#timer = setTimeout(() => {
          if (this.#controller.signal.aborted) return;
          this.#timedOut = true;
          this.#controller.abort(new QueryTimeoutError(timeoutMs));
        }, timeoutMs);
      }
    }
  }

  /** Aborts when the deadline fires; its reason is what the caller gets. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once the deadline fired. */
  get fired(): boolean {
    return this.#controller.signal.aborted;
  }

  /** True when it fired because of its timeout (not the caller's signal). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /**
   * Settles like `work`, unless the deadline fires first: then rejects with the deadline's reason
   * and calls `onExpire` once (synchronously, before the rejection is seen). `work` goes on.
   */
  race<T>(work: Promise<T>, onExpire: () => void): Promise<T> {
    const signal = this.#controller.signal;
    if (signal.aborted) {
      onExpire();
      return Promise.reject(signal.reason as Error);
    }
    return new Promise<T>((resolve, reject) => {
      const expire = (): void => {
        onExpire();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', expire, { once: true });
      work.then(
        (value) => {
          signal.removeEventListener('abort', expire);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', expire);
          reject(error as Error);
        },
      );
    });
  }

  /** Stops the timer and the listener on the caller's signal. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onCallerAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onCallerAbort);
  }
}
