import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';

/** The TLS setting of one connection attempt, as node-postgres takes it. */
export type SslSetting = false | ConnectionOptions;

/**
 * A mutable copy of TLS options that node-postgres can safely mark up: pg makes `key`
 * non-enumerable with `Object.defineProperty`, which throws on a frozen object. Non-enumerable
 * properties are copied too, and `key` is never enumerable in the copy.
 */
export function copySslSetting(ssl: SslSetting): SslSetting {
  if (ssl === false) return false;
  const copy: ConnectionOptions = {};
  for (const name of Reflect.ownKeys(ssl)) {
    const descriptor = Object.getOwnPropertyDescriptor(ssl, name);
    if (descriptor === undefined) continue;
    const value = descriptor.get ? descriptor.get.call(ssl) : descriptor.value;
    Object.defineProperty(copy, name, {
      value,
      enumerable: name !== 'key' && descriptor.enumerable === true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/**
 * Client-side settings node-postgres would otherwise take from `process.env` (it reads `PG*`
 * variables for any option it is not given a truthy value for): `PGCLIENTENCODING` must not change
 * how replies are decoded, and `PGSSLNEGOTIATION=direct` must not break `sslmode` allow/prefer.
 * Neither is sent to the server.
 */
const PINNED_SETTINGS = Object.freeze({
  client_encoding: 'utf8',
  sslnegotiation: 'postgres',
} as const);

/**
 * Removes what node-postgres took from `process.env` for the startup packet although the
 * configuration did not ask for it: `PGOPTIONS` (server settings we warn are ignored) and
 * `PGREPLICATION` (a replication session). They cannot be pinned through options without sending a
 * startup parameter that PgBouncer refuses, so they are cleared on the client's connection
 * parameters right after construction. This reaches into pg's `connectionParameters`; the test
 * `session-settings.test.ts` sets both variables and fails if a pg change brings them back.
 */
export function clearEnvironmentStartupParameters(client: pg.Client): void {
  const parameters = (client as unknown as { connectionParameters?: Record<string, unknown> }).connectionParameters;
  if (parameters === undefined) return;
  parameters.options = undefined;
  parameters.replication = undefined;
}

/**
 * The connection settings every client of the pool opens its session with. Session settings go
 * in the startup packet (no extra round trip): `application_name`, `statement_timeout` and
 * `idle_in_transaction_session_timeout` (a value of 0 leaves the server's setting in place).
 *
 * The password is a non-enumerable function returning the configured password, or `undefined`
 * when the configuration has none: node-postgres then never falls back to `process.env.PGPASSWORD`
 * or `~/.pgpass` behind the configuration's back, and the secret is not a plain property that
 * `util.inspect(…, { showHidden: true })` would print.
 */
export function toClientConfig(config: PostgresConfig, ssl: SslSetting): pg.ClientConfig {
  const options: pg.ClientConfig = {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    ssl: copySslSetting(ssl),
    application_name: config.applicationName,
    keepAlive: true,
    connectionTimeoutMillis: config.connectTimeoutMs,
    ...PINNED_SETTINGS,
  } as pg.ClientConfig;
  if (config.statementTimeoutMs > 0) options.statement_timeout = config.statementTimeoutMs;
  if (config.idleInTransactionSessionTimeoutMs > 0) {
    options.idle_in_transaction_session_timeout = config.idleInTransactionSessionTimeoutMs;
  }
  const password = config.password;
  Object.defineProperty(options, 'password', {
    value: (): string | undefined => password,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return options;
}

/**
 * `pg.Pool` options for an {@link InstrumentedPool}: the client settings plus
 *
 * - `max` = `maxConns`;
 * - `connectionTimeoutMillis` = `connectTimeoutMs`: bounds each TCP/TLS connect and
 *   authentication. (pg.Pool also applies it to waiting in its own queue, but the instrumented
 *   pool never lets pg.Pool queue a caller: it hands out permits first, so this bound is only
 *   ever a connect timeout. The wait for a connection is bounded by `acquireTimeoutMs` there.)
 * - `idleTimeoutMillis: 0` and `maxLifetimeSeconds: 0`: idle eviction and the jittered lifetime
 *   are done by the instrumented pool, which knows why it closes each connection.
 *
 * `Client` and `onConnect` are added by `createPool`.
 */
export function toPgPoolConfig(config: PostgresConfig, ssl: SslSetting): pg.PoolConfig {
  const client = toClientConfig(config, ssl);
  const pool: pg.PoolConfig = Object.defineProperties(
    { max: config.maxConns, idleTimeoutMillis: 0, maxLifetimeSeconds: 0, allowExitOnIdle: false },
    Object.getOwnPropertyDescriptors(client),
  );
  return pool;
}
