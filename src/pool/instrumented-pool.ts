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
  /** Open connections waiting in the pool. (Briefly lower while housekeeping inspects them.) */
  readonly idle: number;
  /** Connections handed out to callers and not yet released. */
  readonly active: number;
  /** Acquisitions in progress: callers waiting for a free connection or for a new one to open. */
  readonly waiting: number;
  /** `maxConns`. */
  readonly max: number;
  /** `minConns`. */
  readonly min: number;
  /** Successful acquisitions. */
  readonly acquireCount: number;
  /** Total time spent in successful acquisitions, seconds. */
  readonly acquireDurationSeconds: number;
  /** Successful acquisitions that found no idle connection and had to wait for one (to be released or opened). */
  readonly emptyAcquireCount: number;
  /** Acquisitions abandoned by the caller (AbortSignal). */
  readonly canceledAcquireCount: number;
  /** Acquisitions that failed with `AcquireTimeoutError`. */
  readonly acquireTimeoutCount: number;
  /** Acquisitions that failed because a new connection could not be opened. */
  readonly acquireErrorCount: number;
  /** Connections opened since start. */
  readonly createdCount: number;
  /**
   * Attempts to open a connection that failed, whoever asked (an acquisition, the warm-up or
   * housekeeping). A `prefer`/`allow` first attempt that the fallback then completed is not counted.
   */
  readonly connectErrorCount: number;
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
  /**
   * The server's backend process id (for `pg_cancel_backend`, `pg_terminate_backend`,
   * `pg_stat_activity`), read from the client's `processID`. Set for every connection handed out by
   * the pool when it talks to PostgreSQL directly; `undefined` when the value is not a positive
   * integer. Through a pooler such as PgBouncer it is `undefined` (a negative cancel key) or a
   * number that is not a server process id, so cancellation cannot reach the server there. Use
   * this rather than reading `client.processID` yourself.
   */
  readonly processId: number | undefined;
  /**
   * State that lives as long as this physical connection and is shared by everyone who borrows it,
   * across dialects and Kysely instances on the same pool (e.g. which statements are prepared on
   * it). Key it by a symbol or a plugin's name. Gone when the connection is closed.
   */
  readonly state: Map<string | symbol, unknown>;
  /**
   * True once the client emitted `error` or `end` while borrowed (the server terminated the
   * session, the socket failed…), and once `close()` took the connection back at its timeout: the
   * connection is unusable, and it will be destroyed, not reused, when released. The pool keeps a
   * permanent `error` listener on every client, so such an error never crashes the process and is
   * logged once (`borrowed connection failed; it will be closed when released`); callers need no
   * listener of their own. After `release()`, the value at the time of the release.
   */
  readonly broken: boolean;
  /**
   * This connection's lifetime in milliseconds: `maxConnLifetimeMs` minus its random jitter
   * (`Infinity` when lifetime is unlimited). Once it is this old, the pool closes it at its next
   * release, or while it is idle.
   */
  readonly lifetimeMs: number;
  /**
   * Gives the connection back. The connection is destroyed instead of reused when `error` leaves it
   * unusable (see `isFatalConnectionError`: connection-class SQLSTATE, admin shutdown, socket
   * error…), when it is {@link PooledConnection.broken}, when it is still inside a transaction
   * (`BEGIN` without `COMMIT`/`ROLLBACK`, or a failed transaction: the pool checks
   * `getTransactionStatus()` and logs a warning with the connection id), when it outlived its
   * lifetime, or when the pool is closing. Pass the last error seen on the connection, if any; a
   * non-fatal error (e.g. a constraint violation) keeps the connection. A second call does
   * nothing, and so does a call after `close()` took the connection back.
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
  /**
   * How long to wait for borrowed connections to come back before terminating their backends and
   * destroying them. Default 10 s. `close()` itself takes at most this plus a fixed 2 s grace.
   */
  readonly timeoutMs?: number;
}

/** Options of {@link InstrumentedPool.openClient}. */
export interface OpenClientOptions {
  /** Replaces the session's `application_name`. */
  readonly applicationName?: string;
  /**
   * A connection of this pool (`PooledConnection.client`, borrowed now or earlier) whose TLS
   * setting the new client uses: the choice of the pool's `sslmode` plan it was opened with, after
   * any `prefer`/`allow` fallback. The new client then connects in one attempt, without the
   * fallback. Use it for a control connection next to a pooled one (`pg_cancel_backend`). Any
   * other client (another pool's, one made by hand) is refused with a `TypeError`: its TLS setting
   * could send this pool's password less protected than its `sslmode` requires.
   */
  readonly like?: pg.ClientBase;
}

/**
 * Events for metrics and tracing. Every method is optional; the pool calls them synchronously.
 * A hook that throws is logged (once per hook) and otherwise ignored: it never breaks the pool.
 */
export interface PoolObserver {
  /** A connection was handed out after `waitSeconds`; `waited` when no idle connection was ready. */
  onAcquire?(event: { readonly connectionId: number; readonly waitSeconds: number; readonly waited: boolean }): void;
  /** An acquisition failed: timed out, canceled by its signal, could not connect, or the pool is closed. */
  onAcquireFailed?(event: { readonly reason: 'timeout' | 'canceled' | 'error' | 'closed'; readonly waitSeconds: number }): void;
  /** A caller released a connection it held for `heldSeconds`. */
  onRelease?(event: { readonly connectionId: number; readonly heldSeconds: number }): void;
  /** A new connection is ready; `connectSeconds` includes TLS fallback and the `onConnect` hook. */
  onConnect?(event: { readonly connectionId: number; readonly connectSeconds: number }): void;
  /** A connection was closed (its socket has ended). */
  onDestroy?(event: { readonly connectionId: number; readonly reason: DestroyReason }): void;
  /**
   * A connection has been held longer than `leakDetectionThresholdMs` (reported once per borrow).
   * `stack` is the stack of the `acquire()` call (`Error: connection acquired here` and its
   * frames) when it was recorded (`stackRecorded`): stacks are recorded from the pool's first leak
   * on, so the first leak has `stack: undefined, stackRecorded: false`.
   */
  onLeak?(event: {
    readonly connectionId: number;
    readonly heldSeconds: number;
    readonly stack: string | undefined;
    readonly stackRecorded: boolean;
  }): void;
  /** An idle connection failed (server restart, `pg_terminate_backend`, network); it was removed. */
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
  /**
   * The connection options of the pool's first connection attempts. The password is a
   * non-enumerable function (pg accepts one), never a plain string property.
   * A fresh, mutable copy on every read, safe to give to `new pg.Client()`. With `sslmode`
   * `prefer`/`allow` the first attempt may be refused: prefer {@link InstrumentedPool.openClient},
   * which retries with the fallback TLS choice.
   */
  readonly connectionOptions: Readonly<pg.ClientConfig>;
  /** True once `close()` has been called. */
  readonly closed: boolean;
  /** Callers waiting for a connection now (`stats().waiting`, without building the whole snapshot). */
  readonly waiting: number;
  /**
   * Opens a connection outside the pool (not counted, not limited by `maxConns`, never waits for a
   * pooled connection) with the pool's settings, e.g. a control connection for
   * `pg_cancel_backend`. TLS: with `like` (a connection of this pool), the setting that
   * connection was opened with, in one attempt; otherwise the pool's `sslmode` plan (first choice,
   * then the fallback if the server refused it). `applicationName` replaces the session's `application_name`. The password stays a
   * non-enumerable option and is never logged. The `onConnect` dependency is not run for it.
   * Errors the client emits are logged at debug level (so they cannot crash the process). The
   * caller must `end()` it. Rejects with `PoolClosedError` after `close()`, and with a `TypeError`
   * when `like` is not a connection of this pool.
   */
  openClient(options?: OpenClientOptions): Promise<pg.Client>;
  /** Borrows a connection, waiting at most `acquireTimeoutMs`. Rejects with `PoolClosedError` after `close()`. */
  acquire(options?: AcquireOptions): Promise<PooledConnection>;
  /** Runs one statement on a borrowed connection and releases it (with the error, if any). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    parameters?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
  /**
   * Opens connections until `minConns` are open; resolves when they are (or rejects with the first
   * connect error, which is also logged and counted in `connectErrorCount`). Concurrent calls share
   * one run. `createPool` starts it in the background; housekeeping repeats it every
   * `healthCheckPeriodMs`. Rejects with `PoolClosedError` after `close()`.
   */
  warmUp(): Promise<void>;
  /** A snapshot of gauges and counters. */
  stats(): PoolStats;
  /**
   * Stops new acquisitions (`PoolClosedError`, also for callers already waiting) and housekeeping,
   * closes idle connections, waits up to `timeoutMs` for borrowed connections (each is closed as it
   * is released), then terminates the backends of the rest (`pg_terminate_backend` from one
   * control connection outside the pool, so their statements stop on the server too), closes them
   * (their queries fail, a late `release()` does nothing) and ends the pool. Destroy reason
   * `shutdown`. Resolves at the latest about `timeoutMs` + 2 s after the call, even if a connect
   * is still in progress (that is logged). Never rejects. Idempotent: every call returns the same
   * promise (later options are ignored).
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
  /**
   * Called once per new connection before first use (the session settings are already applied:
   * they are startup parameters). If it rejects, the connection is closed and the acquisition
   * fails with that error.
   */
  readonly onConnect?: (client: pg.PoolClient) => Promise<void>;
}
