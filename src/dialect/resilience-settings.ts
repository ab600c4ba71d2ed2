import type { InstrumentedPool } from '../pool/instrumented-pool.js';
import { createCircuitBreaker, type CircuitBreaker, type CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { resolveRetryOptions } from '../resilience/retry-options.js';
import { RetryPolicy } from '../resilience/retry-policy.js';
import type { DialectCommonOptions } from './dialect-options.js';
import type { DriverResilience } from './driver.js';

/** Default of {@link DialectCommonOptions.cancelGraceMs}. */
export const DEFAULT_CANCEL_GRACE_MS = 2000;

function isCircuitBreaker(value: unknown): value is CircuitBreaker {
  const candidate = value as Partial<CircuitBreaker> | undefined;
  return typeof candidate?.execute === 'function' && typeof candidate.onStateChange === 'function';
}

/** The longest delay a Node.js timer accepts (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

function milliseconds(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new TypeError(`${field} must be an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`);
  }
  return value;
}

/**
 * Retries, breaker and deadlines from the dialect options, validated now (`TypeError` naming the
 * option). `query_timeout` (pg's name) is accepted for `queryTimeoutMs`.
 */
export function resolveDriverResilience(options: DialectCommonOptions & { readonly query_timeout?: number }): DriverResilience {
  const retry = new RetryPolicy(resolveRetryOptions(options.retry));
  if (options.queryTimeoutMs !== undefined && options.query_timeout !== undefined) {
    throw new TypeError('give queryTimeoutMs or query_timeout, not both');
  }
  const queryTimeoutMs = options.queryTimeoutMs !== undefined
    ? milliseconds('queryTimeoutMs', options.queryTimeoutMs, 0)
    : milliseconds('query_timeout', options.query_timeout, 0);
  const cancelGraceMs = milliseconds('cancelGraceMs', options.cancelGraceMs, DEFAULT_CANCEL_GRACE_MS);
  const given = options.breaker;
  let breaker: DriverResilience['breaker'];
  if (given === false) {
    breaker = undefined;
  } else if (isCircuitBreaker(given)) {
    breaker = given;
  } else {
    if (given !== undefined && (typeof given !== 'object' || given === null)) {
      throw new TypeError('breaker must be options, a CircuitBreaker or false');
    }
    const settings: CircuitBreakerOptions = given ?? {};
    createCircuitBreaker(settings); // validates now, so that a mistake surfaces at createDialect
    breaker = (pool: InstrumentedPool) => createCircuitBreaker({ name: pool.name, ...settings });
  }
  const observer = options.observer;
  if (observer !== undefined && (typeof observer !== 'object' || observer === null)) {
    throw new TypeError('observer must be an object');
  }
  return Object.freeze({ retry, breaker, queryTimeoutMs, cancelGraceMs, observer });
}
