import type { FieldSources } from './config-sources.js';

/**
 * Every setting's sources, highest priority first (explicit option, URL parameter, environment
 * variables). libpq's `PG*` variables come before the `DB_*` ones; the `DB_*` names are the
 * legacy service's (`DB_HOST`…) and this library's own for settings libpq does not have.
 * The password is resolved separately (see `secrets.ts`): it also has `*_FILE` and `~/.pgpass`.
 */
export const FIELD_SOURCES = Object.freeze({
  host: { explicit: 'host', url: 'host', env: ['PGHOST', 'DB_HOST'] },
  port: { explicit: 'port', url: 'port', env: ['PGPORT', 'DB_PORT'] },
  database: { explicit: 'database', url: 'dbname', env: ['PGDATABASE', 'DB_NAME'] },
  user: { explicit: 'user', url: 'user', env: ['PGUSER', 'DB_USER'] },
  sslMode: { explicit: 'sslMode', url: 'sslmode', env: ['PGSSLMODE', 'DB_SSL_MODE'] },
  sslRootCert: { explicit: 'sslRootCert', url: 'sslrootcert', env: ['PGSSLROOTCERT'] },
  sslCert: { explicit: 'sslCert', url: 'sslcert', env: ['PGSSLCERT'] },
  sslKey: { explicit: 'sslKey', url: 'sslkey', env: ['PGSSLKEY'] },
  maxConns: { explicit: 'maxConns', url: 'pool_max_conns', env: ['DB_MAX_CONNS'] },
  minConns: { explicit: 'minConns', url: 'pool_min_conns', env: ['DB_MIN_CONNS'] },
  maxConnLifetime: { explicit: 'maxConnLifetime', url: 'pool_max_conn_lifetime', env: ['DB_MAX_CONN_LIFETIME'] },
  maxConnLifetimeJitter: {
    explicit: 'maxConnLifetimeJitter',
    url: 'pool_max_conn_lifetime_jitter',
    env: ['DB_MAX_CONN_LIFETIME_JITTER'],
  },
  maxConnIdleTime: { explicit: 'maxConnIdleTime', url: 'pool_max_conn_idle_time', env: ['DB_MAX_CONN_IDLE_TIME'] },
  healthCheckPeriod: { explicit: 'healthCheckPeriod', url: 'pool_health_check_period', env: ['DB_HEALTH_CHECK_PERIOD'] },
  acquireTimeout: { explicit: 'acquireTimeout', url: 'pool_acquire_timeout', env: ['DB_ACQUIRE_TIMEOUT'] },
  /** `connect_timeout` and `PGCONNECT_TIMEOUT` are whole seconds, as in libpq; the others are durations. */
  connectTimeout: { explicit: 'connectTimeout', url: 'connect_timeout', env: ['PGCONNECT_TIMEOUT', 'DB_CONNECT_TIMEOUT'] },
  statementTimeout: { explicit: 'statementTimeout', url: 'statement_timeout', env: ['DB_STATEMENT_TIMEOUT'] },
  idleInTransactionSessionTimeout: {
    explicit: 'idleInTransactionSessionTimeout',
    url: 'idle_in_transaction_session_timeout',
    env: ['DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT'],
  },
  applicationName: { explicit: 'applicationName', url: 'application_name', env: ['PGAPPNAME', 'DB_APPLICATION_NAME'] },
  leakDetectionThreshold: {
    explicit: 'leakDetectionThreshold',
    url: 'pool_leak_detection_threshold',
    env: ['DB_LEAK_DETECTION_THRESHOLD'],
  },
} as const satisfies Record<string, FieldSources>);

/** Sources of the password before the `*_FILE` secrets and `~/.pgpass`. */
export const PASSWORD_SOURCES: FieldSources = Object.freeze({ explicit: 'password', url: 'password' });

/** Every query parameter a connection URL may carry. */
export const URL_PARAMETERS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'dbname',
  'user',
  'password',
  ...Object.values(FIELD_SOURCES).map((sources) => sources.url),
]);
