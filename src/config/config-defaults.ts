import type { SslMode } from './postgres-config.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * The value of every setting that no source gives. The database defaults to the user name and
 * the lifetime jitter to 10% of the lifetime, as computed by `loadConfig`.
 */
export const CONFIG_DEFAULTS = Object.freeze({
  host: 'localhost',
  port: 5432,
  user: 'postgres',
  sslMode: 'prefer' as SslMode,
  maxConns: 10,
  minConns: 0,
  maxConnLifetimeMs: 30 * MINUTE,
  /** Share of the lifetime used as jitter when no jitter is given. */
  maxConnLifetimeJitterRatio: 0.1,
  maxConnIdleTimeMs: 10 * MINUTE,
  healthCheckPeriodMs: 30 * SECOND,
  acquireTimeoutMs: 10 * SECOND,
  connectTimeoutMs: 10 * SECOND,
  statementTimeoutMs: 0,
  idleInTransactionSessionTimeoutMs: 60 * SECOND,
  applicationName: 'alert-history-db',
  leakDetectionThresholdMs: 60 * SECOND,
});
