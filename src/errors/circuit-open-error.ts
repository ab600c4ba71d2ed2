import { AlertHistoryDbError } from './alert-history-db-error.js';

/** The state of a circuit breaker when it refused work. */
export interface CircuitOpenDetails {
  /** Name of the breaker (usually the pool's name). */
  readonly name: string;
  /** Milliseconds until the breaker lets a probe through (0 when a probe is already due). */
  readonly retryAfterMs: number;
}

/**
 * Work was refused without contacting the server because a circuit breaker is open after
 * repeated connection failures. Nothing was sent to the server.
 *
 * Kind `connection`, but not retryable: repeating it at once fails the same way. Callers may try
 * again after `retryAfterMs` (e.g. answer HTTP 503 with `Retry-After`).
 */
export class CircuitOpenError extends AlertHistoryDbError {
  readonly kind = 'connection' as const;
  /** Name of the breaker that refused the work. */
  readonly breakerName: string;
  /** Milliseconds until the breaker lets a probe through. */
  readonly retryAfterMs: number;

  constructor(details: CircuitOpenDetails, cause?: unknown) {
    const retryAfterMs = Math.max(0, Math.ceil(details.retryAfterMs));
    super(
      `circuit breaker "${details.name}" is open after repeated connection failures; ` +
        `failing fast, next attempt allowed in ${retryAfterMs} ms`,
      { code: 'CIRCUIT_OPEN', retryable: false, cause },
    );
    this.breakerName = details.name;
    this.retryAfterMs = retryAfterMs;
  }
}
