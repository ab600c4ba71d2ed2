import type pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import type { Logger } from '../observability/logger.js';

/** Why the pool closed a connection. */
export type DestroyReason = 'idle' | 'lifetime' | 'error' | 'shutdown';

/**
 * A snapshot of the pool, modelled on pgxpool's `Stat()`. Counters only grow; gauges are the
 * state at the moment of the call. Durations are in seconds (Prometheus base unit).
 */
export interface PoolStats {
  /** Connections open or being opened. */
  readonly total: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Connections handed out and not yet released. */
  readonly active: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** `maxConns`. */
  readonly max: number;
  /** `minConns`. */
  readonly min: number;
  /** Successful acquisitions. */
  readonly acquireCount: number;
  /** Total time spent in successful acquisitions, seconds. */
  readonly acquireDurationSeconds: number;
  /** Successful acquisitions that found no idle connection and had to wait for one. */
  readonly emptyAcquireCount: number;
  /** Acquisitions abandoned by the caller (AbortSignal). */
  readonly canceledAcquireCount: number;
  /** Acquisitions that failed with `AcquireTimeoutError`. */
  readonly acquireTimeoutCount: number;
  /** Acquisitions that failed because a new connection could not be opened. */
  readonly acquireErrorCount: number;
  /** Connections opened since start. */
  readonly createdCount: number;
  /** Connections closed since start, by reason. */
  readonly destroyedCount: Readonly<Record<DestroyReason, number>>;
  /** Connections held past `leakDetectionThresholdMs`. */
  readonly leaksDetected: number;
  /** Errors emitted by idle connections (server restart, `pg_terminate_backend`, network). */
  readonly idleErrorCount: number;
}

/** A connection borrowed from an {@link InstrumentedPool}. Release it exactly once. */
export interface PooledConnection {
  /** Pool-unique id of the underlying connection (stable across acquisitions of the same connection). */
  readonly id: number;
  /** The node-postgres client. Do not call `release()` on it directly; use {@link PooledConnection.release}. */
  readonly client: pg.PoolClient;
  /** The server's backend process id (for `pg_cancel_backend`), once connected. */
  readonly processId: number | undefined;
  /**
   * Gives the connection back. With an error that leaves the connection unusable (connection-class
   * SQLSTATE, admin shutdown, socket error), the connection is destroyed instead of reused.
   * A second call does nothing.
   */
  release(error?: unknown): void;
}

/** Options of one acquisition. */
export interface AcquireOptions {
  /** Abandons the wait; the acquisition rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of {@link InstrumentedPool.close}. */
export interface CloseOptions {
  /** How long to wait for borrowed connections to come back before destroying them. Default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * Events for metrics and tracing. Every method is optional and must not throw;
 * the pool calls them synchronously.
 */
export interface PoolObserver {
  onAcquire?(event: { readonly connectionId: number; readonly waitSeconds: number; readonly waited: boolean }): void;
  onAcquireFailed?(event: { readonly reason: 'timeout' | 'canceled' | 'error' | 'closed'; readonly waitSeconds: number }): void;
  onRelease?(event: { readonly connectionId: number; readonly heldSeconds: number }): void;
  onConnect?(event: { readonly connectionId: number; readonly connectSeconds: number }): void;
  onDestroy?(event: { readonly connectionId: number; readonly reason: DestroyReason }): void;
  onLeak?(event: { readonly connectionId: number; readonly heldSeconds: number; readonly stack: string }): void;
  onIdleError?(event: { readonly connectionId: number | undefined; readonly error: Error }): void;
}

/**
 * `pg.Pool` with acquire timing, warm minimum connections, lifetime with jitter, idle eviction,
 * leak detection, safe handling of broken connections and graceful shutdown.
 */
export interface InstrumentedPool {
  /** Label for metrics and logs (default `default`). */
  readonly name: string;
  /** The configuration the pool was built from. */
  readonly config: PostgresConfig;
  /** The underlying `pg.Pool`'s connection options (password non-enumerable), e.g. for a control connection. */
  readonly connectionOptions: Readonly<pg.ClientConfig>;
  /** True once `close()` has been called. */
  readonly closed: boolean;
  /** Borrows a connection, waiting at most `acquireTimeoutMs`. Rejects with `PoolClosedError` after `close()`. */
  acquire(options?: AcquireOptions): Promise<PooledConnection>;
  /** Runs one statement on a borrowed connection and releases it (with the error, if any). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    parameters?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** Opens connections until `minConns` are open; resolves when they are (or rejects with the first error). */
  warmUp(): Promise<void>;
  /** A snapshot of gauges and counters. */
  stats(): PoolStats;
  /**
   * Stops new acquisitions (`PoolClosedError`), waits up to `timeoutMs` for borrowed connections,
   * then destroys the rest and ends the pool. Idempotent: every call returns the same promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** What `createPool` may be given besides the configuration. */
export interface PoolDependencies {
  /** Label for metrics and logs. Default `default`. */
  readonly name?: string;
  /** Where warnings (leaks, idle errors) and debug lines go. Default: silent. */
  readonly logger?: Logger;
  /** Metric hooks. */
  readonly observer?: PoolObserver;
  /** Called once per new connection before first use (after the session settings are applied). */
  readonly onConnect?: (client: pg.PoolClient) => Promise<void>;
}
