import { CircuitOpenError } from '../errors/circuit-open-error.js';
import { describeError } from '../observability/describe-error.js';
import type { Logger } from '../observability/logger.js';
import type { InstrumentedPool, PooledConnection } from '../pool/instrumented-pool.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { classifyError } from '../resilience/classify-error.js';
import type { ResilienceObserver } from '../resilience/resilience-observer.js';
import type { RetryEvent, RetryPolicy } from '../resilience/retry-policy.js';

/**
 * Whether a failed acquisition may be tried again: the pool could not open a connection
 * (refused, reset, unreachable, `53300` too many connections, `57P03` starting up). Nothing was
 * sent, so repeating is always safe. Not retried: an open breaker (it answers for the server), an
 * acquire timeout (the pool was busy for the whole wait: repeating only lengthens the queue), a
 * closed pool, authentication and configuration errors.
 */
export function isRetryableConnectFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  return classifyError(error).kind === 'connection';
}

/** Where leases come from: the pool, behind the circuit breaker and the connect retries. */
export class ConnectionSource {
  readonly #pool: InstrumentedPool;
  readonly #retry: RetryPolicy;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #logger: Logger;
  readonly #observer: ResilienceObserver | undefined;
  readonly #unsubscribe: (() => void) | undefined;

  constructor(pool: InstrumentedPool, retry: RetryPolicy, breaker: CircuitBreaker | undefined, logger: Logger, observer: ResilienceObserver | undefined) {
    this.#pool = pool;
    this.#retry = retry;
    this.#breaker = breaker;
    this.#logger = logger;
    this.#observer = observer;
    this.#unsubscribe = breaker?.onStateChange((change) => {
      try {
        const meta = { pool: pool.name, breaker: change.breaker, from: change.from, to: change.to };
        if (change.to === 'open') {
          this.#logger.error('circuit breaker opened: failing fast without contacting the server', {
            ...meta,
            ...(change.error === undefined ? {} : { error: describeError(change.error) }),
          });
        } else {
          this.#logger.warn(`circuit breaker ${change.to === 'closed' ? 'closed: the server answers again' : 'half-open: probing the server'}`, meta);
        }
        this.#observer?.onCircuitStateChange?.(change);
      } catch {
        // reporting must never change the outcome
      }
    });
  }

  /**
   * A connection from the pool. Each attempt passes the breaker (which fails it at once with
   * `CircuitOpenError` while open); attempts that could not open a connection are retried with
   * backoff; every retry is logged and reported to the observer.
   */
  acquire(signal: AbortSignal | undefined): Promise<PooledConnection> {
    const options = signal === undefined ? undefined : { signal };
    const breaker = this.#breaker;
    const acquireOnce = (): Promise<PooledConnection> => this.#pool.acquire(options);
    const once = breaker === undefined ? acquireOnce : () => breaker.execute(acquireOnce);
    return this.#retry
      .execute(once, {
        reason: 'connect',
        shouldRetry: isRetryableConnectFailure,
        onRetry: (event) => this.reportRetry(event, undefined),
        signal,
      })
      .catch((error: unknown) => {
        // a caller that aborted its own signal is not a failure to get a connection
        if (!(signal?.aborted ?? false)) {
          try {
            this.#observer?.onAcquireFailure?.({ error });
          } catch {
            // observers only observe
          }
        }
        throw error;
      });
  }

  /** Stops following the breaker's state (which may be shared and outlive this source). */
  dispose(): void {
    this.#unsubscribe?.();
  }

  /** Logs a retry (warn) and tells the observer; never throws. */
  reportRetry(event: RetryEvent, details: Record<string, unknown> | undefined): void {
    try {
      const { kind, code } = classifyError(event.error);
      this.#logger.warn(`retrying after a ${event.reason} failure`, {
        pool: this.#pool.name,
        reason: event.reason,
        attempt: event.attempt,
        maxAttempts: event.maxAttempts,
        delayMs: Math.round(event.delayMs),
        kind,
        code,
        error: describeError(event.error),
        ...details,
      });
      this.#observer?.onRetry?.(event);
    } catch {
      // reporting must never change the outcome
    }
  }
}
