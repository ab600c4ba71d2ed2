import type { ConnectionOptions } from 'node:tls';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import type { Logger } from '../observability/logger.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';
import type { CircuitBreaker, CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import type { ResilienceObserver } from '../resilience/resilience-observer.js';
import type { RetryOptions } from '../resilience/retry-options.js';
import type { QueryInterceptor } from './interceptor.js';

/** Options every form of {@link CreateDialectOptions} takes. */
export interface DialectCommonOptions {
  /** Interceptors, outermost first. See {@link QueryInterceptor}. */
  readonly interceptors?: readonly QueryInterceptor[];
  /** Where the dialect (and a pool it creates) logs. Default: silent. */
  readonly logger?: Logger;
  /**
   * Retries of what is safe to repeat: opening a connection that was refused or timed out (nothing
   * was sent), and a read (a `selectFrom` query, no writes in it) that is the first statement of
   * its connection lease, outside a transaction, when its connection died under it or it hit a
   * serialization failure. Never a write. `false` turns retries off. Default: 3 attempts, 50 ms
   * initial delay, 2 s cap, full jitter.
   */
  readonly retry?: RetryOptions | false;
  /**
   * Circuit breaker on connection failures, guarding connection acquisition: options for a new
   * one, a breaker to share (e.g. with a health checker or another dialect), or `false` for none.
   * Default: a new breaker (5 consecutive failures, half-open after 1 s), named after the pool.
   */
  readonly breaker?: CircuitBreakerOptions | CircuitBreaker | false;
  /**
   * Client deadline of every statement, in milliseconds (0: none, the default). When it expires,
   * the caller gets `QueryTimeoutError` at once and the statement is canceled with
   * `pg_cancel_backend`; a connection whose statement does not stop within `cancelGraceMs` is
   * closed. Streams are not bounded by it (use an `AbortSignal`).
   */
  readonly queryTimeoutMs?: number;
  /**
   * How long a canceled (deadline or aborted signal) statement may take to stop before its
   * connection is closed instead, in milliseconds. Default 2000.
   */
  readonly cancelGraceMs?: number;
  /** Receives retries, circuit breaker changes and transactions (for metrics). */
  readonly observer?: ResilienceObserver;
}

/** Use an existing pool. The dialect never closes it: its owner does. */
export interface PoolDialectOptions extends DialectCommonOptions {
  /** A pool from `createPool`; the dialect's driver borrows from it and never closes it. */
  readonly pool: InstrumentedPool;
}

/** Settings for a pool the dialect creates (and closes on `db.destroy()`). */
export interface OwnedPoolOptions extends DialectCommonOptions {
  /** Label of the created pool in metrics and logs. Default `default`. */
  readonly poolName?: string;
  /** Environment `loadConfig` reads besides the explicit settings. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A configuration, loaded already or still to be loaded, for a pool the dialect creates. */
export interface ConfigDialectOptions extends OwnedPoolOptions {
  /** A configuration `loadConfig` produced, or settings to load now (over `env`), for the pool the dialect creates. */
  readonly config: PostgresConfig | PostgresConfigInput;
}

/**
 * Connection settings under the names `pg.PoolConfig` uses, so that options written for
 * `new pg.Pool(…)` work unchanged. Each maps onto a {@link PostgresConfigInput} field.
 */
export interface PgPoolSettings {
  /** → `maxConns`. */
  readonly max?: number;
  /** → `minConns`. */
  readonly min?: number;
  /** `false` → `sslMode: disable`; `true` or `{}` → `verify-full` against the platform's CA roots (unless `sslRootCert` is given), as pg does; `{ rejectUnauthorized: false }` → `require`. */
  readonly ssl?: boolean | Pick<ConnectionOptions, 'rejectUnauthorized'>;
  /** → `maxConnIdleTime`. */
  readonly idleTimeoutMillis?: number;
  /** → `connectTimeout`, and `acquireTimeout` unless that is given (pg's pool uses it for both). */
  readonly connectionTimeoutMillis?: number;
  /** → `maxConnLifetime` (seconds × 1000). */
  readonly maxLifetimeSeconds?: number;
  /** → `statementTimeout`; `false` means 0 (off). */
  readonly statement_timeout?: number | false;
  /** → `idleInTransactionSessionTimeout`. */
  readonly idle_in_transaction_session_timeout?: number;
  /** → `applicationName`. */
  readonly application_name?: string;
  /** → `queryTimeoutMs` (pg's client-side query timeout; here the statement is also canceled on the server). */
  readonly query_timeout?: number;
}

/**
 * Plain connection settings, as `pg.PoolConfig` names them (`host, port, database, user,
 * password, connectionString, max, ssl…`) or as {@link PostgresConfigInput} does (`maxConns`,
 * `sslMode`, `acquireTimeout`…), merged over the environment by `loadConfig`.
 */
export interface SettingsDialectOptions extends PostgresConfigInput, PgPoolSettings, OwnedPoolOptions {}

/**
 * What `createDialect` accepts: an existing pool, a loaded `PostgresConfig`, a `{ config }`
 * object, or plain connection settings.
 */
export type CreateDialectOptions = PoolDialectOptions | ConfigDialectOptions | SettingsDialectOptions | PostgresConfig;
