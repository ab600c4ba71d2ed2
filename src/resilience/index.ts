/** Resilience: error classification, retries, the circuit breaker, the transaction helper. */
export { classifyError, type ErrorClassification } from './classify-error.js';
export { RETRY_DEFAULTS, resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './retry-options.js';
export { RetryPolicy, type RetryControl, type RetryEvent, type RetryReason } from './retry-policy.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  createCircuitBreaker,
  isBreakerFailure,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
} from './circuit-breaker.js';
export { isReadOnlyQuery } from './read-only-query.js';
export type { ResilienceObserver, TransactionEvent, TransactionOutcome } from './resilience-observer.js';
export { transaction, type TransactionAccessMode, type TransactionIsolation, type TransactionOptions } from './transaction.js';
