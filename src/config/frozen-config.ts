import { inspect, type InspectOptionsStylized } from 'node:util';
import type { PostgresConfig, SslMode } from './postgres-config.js';

/** Every setting of {@link PostgresConfig} except the password. */
export type PostgresConfigFields = Omit<PostgresConfig, 'password'>;

const REDACTED = '[redacted]';

/**
 * The frozen configuration object. The settings are own enumerable properties (so `{...config}`
 * copies them); the password lives in a private field behind a prototype getter, so it is not
 * an own property and is left out of spreads, `Object.keys`, `JSON.stringify`, `util.inspect`
 * and `toString()`.
 */
class FrozenPostgresConfig implements PostgresConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly sslMode: SslMode;
  readonly sslRootCert: string | undefined;
  readonly sslCert: string | undefined;
  readonly sslKey: string | undefined;
  readonly maxConns: number;
  readonly minConns: number;
  readonly maxConnLifetimeMs: number;
  readonly maxConnLifetimeJitterMs: number;
  readonly maxConnIdleTimeMs: number;
  readonly healthCheckPeriodMs: number;
  readonly acquireTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionSessionTimeoutMs: number;
  readonly applicationName: string;
  readonly leakDetectionThresholdMs: number;
  readonly #password: string | undefined;

  constructor(fields: PostgresConfigFields, password: string | undefined) {
    this.host = fields.host;
    this.port = fields.port;
    this.database = fields.database;
    this.user = fields.user;
    this.sslMode = fields.sslMode;
    this.sslRootCert = fields.sslRootCert;
    this.sslCert = fields.sslCert;
    this.sslKey = fields.sslKey;
    this.maxConns = fields.maxConns;
    this.minConns = fields.minConns;
    this.maxConnLifetimeMs = fields.maxConnLifetimeMs;
    this.maxConnLifetimeJitterMs = fields.maxConnLifetimeJitterMs;
    this.maxConnIdleTimeMs = fields.maxConnIdleTimeMs;
    this.healthCheckPeriodMs = fields.healthCheckPeriodMs;
    this.acquireTimeoutMs = fields.acquireTimeoutMs;
    this.connectTimeoutMs = fields.connectTimeoutMs;
    this.statementTimeoutMs = fields.statementTimeoutMs;
    this.idleInTransactionSessionTimeoutMs = fields.idleInTransactionSessionTimeoutMs;
    this.applicationName = fields.applicationName;
    this.leakDetectionThresholdMs = fields.leakDetectionThresholdMs;
    this.#password = password;
  }

  /** The password, if any. Not an own property: never copied, serialised or printed. */
  get password(): string | undefined {
    return this.#password;
  }

  /** A connection URL without the password, e.g. `postgres://app@db.internal:5432/alerts?sslmode=verify-full`. */
  toString(): string {
    const socket = this.host.startsWith('/');
    const host = socket ? '' : this.host.includes(':') ? `[${this.host}]` : this.host;
    const query = `${socket ? `host=${encodeURIComponent(this.host)}&` : ''}sslmode=${this.sslMode}`;
    return `postgres://${encodeURIComponent(this.user)}@${host}:${this.port}/${encodeURIComponent(this.database)}?${query}`;
  }

  /** Every setting except the password, as a plain object. */
  toJSON(): PostgresConfigFields {
    return { ...this };
  }

  /** `util.inspect` / `console.log` view: the settings, with the password shown as `[redacted]` when one is set. */
  [inspect.custom](_depth: number, options: InspectOptionsStylized, nested: typeof inspect = inspect): string {
    const { host, port, database, user, ...rest } = this.toJSON();
    const shown = { host, port, database, user, password: this.#password === undefined ? undefined : REDACTED, ...rest };
    return `PostgresConfig ${nested(shown, options)}`;
  }
}

Object.freeze(FrozenPostgresConfig.prototype);

/** Every configuration object built by {@link freezeConfig} (that is, returned by `loadConfig`). */
const LOADED = new WeakSet<object>();

/** Builds the frozen configuration object (see {@link PostgresConfig}). Only `loadConfig` calls it. */
export function freezeConfig(fields: PostgresConfigFields, password: string | undefined): PostgresConfig {
  const config = Object.freeze(new FrozenPostgresConfig(fields, password));
  LOADED.add(config);
  return config;
}

/**
 * Whether `value` is a configuration returned by `loadConfig` — validated, frozen, password
 * included — and not merely an object of the same shape. A copy such as `{ ...config, maxConns: 20 }`
 * is not one (it has lost the password, which is not an own property), nor is a plain object with
 * the same fields, nor a `Proxy` of a loaded configuration. The check holds within one copy of
 * this module: a configuration loaded by a second copy of the package is not recognised.
 */
export function isLoadedConfig(value: unknown): value is PostgresConfig {
  return typeof value === 'object' && value !== null && LOADED.has(value);
}
