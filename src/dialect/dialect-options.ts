import type { ConnectionOptions } from 'node:tls';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import type { Logger } from '../observability/logger.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';
import type { QueryInterceptor } from './interceptor.js';

/** Options every form of {@link CreateDialectOptions} takes. */
export interface DialectCommonOptions {
  /** Interceptors, outermost first. See {@link QueryInterceptor}. */
  readonly interceptors?: readonly QueryInterceptor[];
  /** Where the dialect (and a pool it creates) logs. Default: silent. */
  readonly logger?: Logger;
}

/** Use an existing pool. The dialect never closes it: its owner does. */
export interface PoolDialectOptions extends DialectCommonOptions {
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
