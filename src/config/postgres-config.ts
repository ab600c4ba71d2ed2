/**
 * libpq's `sslmode` values, with libpq's meaning (not node-postgres's):
 *
 * - `disable`: plaintext only.
 * - `allow`: plaintext first, TLS if the server insists.
 * - `prefer`: TLS without verification if the server offers it, else plaintext (libpq's default).
 * - `require`: TLS without certificate verification (unless a root certificate is given,
 *   in which case libpq verifies the chain, as `verify-ca` does).
 * - `verify-ca`: TLS, the server's chain must lead to the root certificate; host name unchecked.
 * - `verify-full`: TLS, chain verified and the host name must match the certificate.
 */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** Every `sslmode` we accept, in order of increasing strictness. */
export const SSL_MODES: readonly SslMode[] = Object.freeze([
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
]);

/**
 * A duration as accepted on input: milliseconds as a number or digits, or numbers with units as
 * Go's `time.ParseDuration` reads them: `"250ms"`, `"30s"`, `"5m"`, `"1h"`, `"1.5s"`, `"1m30s"`.
 * Whole milliseconds, not negative, at most 2^31 − 1 ms (the longest Node.js timer).
 */
export type DurationInput = number | string;

/**
 * Validated, frozen connection and pool settings. All durations are in milliseconds;
 * `0` means "off" where the field says so.
 *
 * The password is held as a non-enumerable property: it is never part of
 * `JSON.stringify`, `util.inspect`, `toString()` or an object spread.
 */
export interface PostgresConfig {
  /** Server host name, IP address, or a Unix socket directory (starts with `/`). */
  readonly host: string;
  /** Server TCP port, 1–65535. Default 5432. */
  readonly port: number;
  /** Database name. Default: the user name, as in libpq. */
  readonly database: string;
  /** Role to connect as. Default `postgres`. */
  readonly user: string;
  /** Password, if any (from explicit options, URL, `PGPASSWORD`, a `*_FILE` secret or `~/.pgpass`). Never enumerable. */
  readonly password: string | undefined;
  /** TLS mode with libpq's meaning. Default `prefer`. */
  readonly sslMode: SslMode;
  /**
   * Absolute path of the CA certificate(s) to verify the server with (`PGSSLROOTCERT`), or
   * `"system"` for the platform's CA roots. When none is given, libpq's `~/.postgresql/root.crt`
   * is used for `require`, `verify-ca` and `verify-full` if it exists.
   */
  readonly sslRootCert: string | undefined;
  /** Absolute path of the client certificate (`PGSSLCERT`). */
  readonly sslCert: string | undefined;
  /** Absolute path of the client private key (`PGSSLKEY`). */
  readonly sslKey: string | undefined;
  /** Largest number of connections the pool opens. Default 10. */
  readonly maxConns: number;
  /** Connections the pool opens at start and keeps open. Default 0. */
  readonly minConns: number;
  /** A connection is closed once it is this old (at its next release, or while idle). Default 30 min; 0 = never. */
  readonly maxConnLifetimeMs: number;
  /** Up to this much is taken off each connection's lifetime at random, so connections do not all expire together. Default 10% of the lifetime. */
  readonly maxConnLifetimeJitterMs: number;
  /** An idle connection above `minConns` is closed after this long unused. Default 10 min; 0 = never. */
  readonly maxConnIdleTimeMs: number;
  /** Period of the health checker and of the pool's housekeeping. Default 30 s. */
  readonly healthCheckPeriodMs: number;
  /** Longest wait for a pooled connection before `AcquireTimeoutError`. Default 10 s; never infinite. */
  readonly acquireTimeoutMs: number;
  /** Longest wait to open one TCP/TLS connection and authenticate. Default 10 s; 0 = no limit (as libpq's `connect_timeout=0`). */
  readonly connectTimeoutMs: number;
  /** Server-side `statement_timeout` set on each session. Default 0 (off: the server's setting). */
  readonly statementTimeoutMs: number;
  /** Server-side `idle_in_transaction_session_timeout` set on each session. Default 60 s; 0 = off. */
  readonly idleInTransactionSessionTimeoutMs: number;
  /** `application_name` reported to the server (visible in `pg_stat_activity`). Default `alert-history-db`. */
  readonly applicationName: string;
  /** Warn (with the acquiring stack) when a connection is held longer than this. Default 60 s; 0 = off. */
  readonly leakDetectionThresholdMs: number;
}

/**
 * Explicit settings, the highest-priority source of {@link loadConfig}. Every field is optional;
 * durations take {@link DurationInput}.
 *
 * Giving any connection identity field — `connectionString`, `host`, `port`, `database`, `user`,
 * `password` — makes `loadConfig` ignore `DATABASE_URL` entirely (with a warning), so that no part
 * of it (such as its password) is used for the connection described here. The `PG*` and `DB_*`
 * variables still fill in what is not given, as in libpq.
 */
export interface PostgresConfigInput {
  /** A `postgres://` URL read instead of `DATABASE_URL` (which is then ignored); the other options here win over its parts. */
  readonly connectionString?: string;
  /** {@link PostgresConfig.host}: one host name, IP address or Unix socket directory. */
  readonly host?: string;
  /** {@link PostgresConfig.port}: an integer 1–65535, or its digits. */
  readonly port?: number | string;
  /** {@link PostgresConfig.database}. */
  readonly database?: string;
  /** {@link PostgresConfig.user}. */
  readonly user?: string;
  /** {@link PostgresConfig.password}: wins over every other password source. */
  readonly password?: string;
  /** {@link PostgresConfig.sslMode}: one of {@link SSL_MODES}. */
  readonly sslMode?: SslMode | string;
  /** {@link PostgresConfig.sslRootCert}: a path (resolved against the working directory) or `"system"`. */
  readonly sslRootCert?: string;
  /** {@link PostgresConfig.sslCert}: a path (resolved against the working directory); needs `sslKey`. */
  readonly sslCert?: string;
  /** {@link PostgresConfig.sslKey}: a path (resolved against the working directory); needs `sslCert`. */
  readonly sslKey?: string;
  /** {@link PostgresConfig.maxConns}: an integer ≥ 1, or its digits. */
  readonly maxConns?: number | string;
  /** {@link PostgresConfig.minConns}: an integer from 0 to `maxConns`, or its digits. */
  readonly minConns?: number | string;
  /** {@link PostgresConfig.maxConnLifetimeMs}. */
  readonly maxConnLifetime?: DurationInput;
  /** {@link PostgresConfig.maxConnLifetimeJitterMs}: at most the lifetime. */
  readonly maxConnLifetimeJitter?: DurationInput;
  /** {@link PostgresConfig.maxConnIdleTimeMs}. */
  readonly maxConnIdleTime?: DurationInput;
  /** {@link PostgresConfig.healthCheckPeriodMs}: more than 0. */
  readonly healthCheckPeriod?: DurationInput;
  /** {@link PostgresConfig.acquireTimeoutMs}: more than 0. */
  readonly acquireTimeout?: DurationInput;
  /** {@link PostgresConfig.connectTimeoutMs}: a duration here, unlike libpq's seconds in `connect_timeout`. */
  readonly connectTimeout?: DurationInput;
  /** {@link PostgresConfig.statementTimeoutMs}. */
  readonly statementTimeout?: DurationInput;
  /** {@link PostgresConfig.idleInTransactionSessionTimeoutMs}. */
  readonly idleInTransactionSessionTimeout?: DurationInput;
  /** {@link PostgresConfig.applicationName}; may be empty. */
  readonly applicationName?: string;
  /** {@link PostgresConfig.leakDetectionThresholdMs}. */
  readonly leakDetectionThreshold?: DurationInput;
}
