/** Resilience: error classification (retry, circuit breaker and timeouts build on it). */
export { classifyError, type ErrorClassification } from './classify-error.js';
