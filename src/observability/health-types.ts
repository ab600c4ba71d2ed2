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
  /** Connections open or being opened. */
  readonly total: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Connections handed out to callers and not yet released. */
  readonly active: number;
  /** Acquisitions in progress: callers waiting for a free connection or for a new one to open. */
  readonly waiting: number;
  /** `maxConns`. */
  readonly max: number;
}

/** The result of the latest check, as JSON for `/readyz`-style endpoints. */
export interface HealthReport {
  /** The worst verdict among the {@link HealthReport.reasons}; `healthy` when there is none. */
  readonly status: HealthStatus;
  /** Why the status is not `healthy` (empty when it is); short sentences for operators. */
  readonly reasons: readonly string[];
  /** When the latest check ended (ISO 8601), or `null` before the first one. */
  readonly checkedAt: string | null;
  /** Time to get a connection and to run the query, in milliseconds, of the latest check (`null` when it failed before). */
  readonly latency: {
    /** Time to get a connection from the pool; `null` when the check failed before it had one. */
    readonly acquireMs: number | null;
    /** Time to run the query; `null` when the check failed. */
    readonly queryMs: number | null;
    /** Time of the whole check; `null` before the first check. */
    readonly totalMs: number | null;
  };
  /** Checks failed in a row. */
  readonly consecutiveFailures: number;
  /** The last check's error (message and code only, never values), or `null`. */
  readonly lastError: {
    /** The error's message (its name when the message is empty). */
    readonly message: string;
    /** The error's `code` (a SQLSTATE, a Node.js error code, or this library's), when it has one. */
    readonly code?: string;
  } | null;
  /** The circuit breaker's state, when there is one. */
  readonly breaker: CircuitState | null;
  /** The pool's figures as the latest check began (before it borrowed its own connection). */
  readonly pool: HealthPoolSnapshot;
}
