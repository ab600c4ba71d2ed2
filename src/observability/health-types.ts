import type { CircuitState } from '../resilience/circuit-breaker.js';

/** Overall verdict of a health check. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** Every {@link HealthStatus}, e.g. to pre-create metric series. */
export const HEALTH_STATUSES: readonly HealthStatus[] = Object.freeze(['healthy', 'degraded', 'unhealthy']);

/** Where a health checker reports its checks (the metrics implement it). */
export interface HealthMetricsSink {
  /** One check ended after `durationSeconds`; `ok` when the query succeeded. */
  checked(durationSeconds: number, ok: boolean): void;
  /** The status after that check. */
  status(status: HealthStatus): void;
}

/** The pool figures a health report shows. */
export interface HealthPoolSnapshot {
  readonly total: number;
  readonly idle: number;
  readonly active: number;
  readonly waiting: number;
  readonly max: number;
}

/** The result of the latest check, as JSON for `/readyz`-style endpoints. */
export interface HealthReport {
  readonly status: HealthStatus;
  /** Why the status is not `healthy` (empty when it is); short sentences for operators. */
  readonly reasons: readonly string[];
  /** When the latest check ended (ISO 8601), or `null` before the first one. */
  readonly checkedAt: string | null;
  /** Time to get a connection and to run the query, in milliseconds, of the latest check (`null` when it failed before). */
  readonly latency: { readonly acquireMs: number | null; readonly queryMs: number | null; readonly totalMs: number | null };
  /** Checks failed in a row. */
  readonly consecutiveFailures: number;
  /** The last check's error (message and code only, never values), or `null`. */
  readonly lastError: { readonly message: string; readonly code?: string } | null;
  /** The circuit breaker's state, when there is one. */
  readonly breaker: CircuitState | null;
  readonly pool: HealthPoolSnapshot;
}
