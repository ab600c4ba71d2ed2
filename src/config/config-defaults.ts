import type { SslMode } from './postgres-config.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * The value of every setting that no source gives. The database defaults to the user name and
 * the lifetime jitter to 10% of the lifetime, as computed by `loadConfig`.
 */
export const CONFIG_DEFAULTS = Object.freeze({
  /** {@link PostgresConfig.host}: `localhost`. */
  host: 'localhost',
  /** {@link PostgresConfig.port}: 5432. */
  port: 5432,
  /** {@link PostgresConfig.user}: `postgres`. */
  user: 'postgres',
  /** {@link PostgresConfig.sslMode}: `prefer`, libpq's default. */
  sslMode: 'prefer' as SslMode,
  /** {@link PostgresConfig.maxConns}: 10. */
  maxConns: 10,
  /** {@link PostgresConfig.minConns}: 0. */
  minConns: 0,
  /** {@link PostgresConfig.maxConnLifetimeMs}: 30 minutes. */
  maxConnLifetimeMs: 30 * MINUTE,
  /** Share of the lifetime used as jitter when no jitter is given. */
  maxConnLifetimeJitterRatio: 0.1,
  /** {@link PostgresConfig.maxConnIdleTimeMs}: 10 minutes. */
  maxConnIdleTimeMs: 10 * MINUTE,
  /** {@link PostgresConfig.healthCheckPeriodMs}: 30 seconds. */
  healthCheckPeriodMs: 30 * SECOND,
  /** {@link PostgresConfig.acquireTimeoutMs}: 10 seconds. */
  acquireTimeoutMs: 10 * SECOND,
  /** {@link PostgresConfig.connectTimeoutMs}: 10 seconds. */
  connectTimeoutMs: 10 * SECOND,
  /** {@link PostgresConfig.statementTimeoutMs}: 0, off (the server's own setting applies). */
  statementTimeoutMs: 0,
  /** {@link PostgresConfig.idleInTransactionSessionTimeoutMs}: 60 seconds. */
  idleInTransactionSessionTimeoutMs: 60 * SECOND,
  /** {@link PostgresConfig.applicationName}: `alert-history-db`. */
  applicationName: 'alert-history-db',
  /** {@link PostgresConfig.leakDetectionThresholdMs}: 60 seconds. */
  leakDetectionThresholdMs: 60 * SECOND,
});
