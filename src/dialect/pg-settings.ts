import { isLoadedConfig } from '../config/frozen-config.js';
import { loadConfig } from '../config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import { ConfigError, type ConfigProblem } from '../errors/config-error.js';
import type { SettingsDialectOptions } from './dialect-options.js';

/** Keys of the options objects that are not connection settings. */
const DIALECT_KEYS: ReadonlySet<string> = new Set([
  'interceptors',
  'logger',
  'poolName',
  'env',
  'retry',
  'breaker',
  'queryTimeoutMs',
  'query_timeout',
  'cancelGraceMs',
  'observer',
]);

/** `pg.PoolConfig` / `pg.ClientConfig` options with no equivalent here; silently dropping them would change behaviour. */
const UNSUPPORTED_PG_KEYS: ReadonlySet<string> = new Set([
  'types',
  'Client',
  'stream',
  'lock_timeout',
  'options',
  'keepAlive',
  'keepAliveInitialDelayMillis',
  'log',
  'Promise',
  'allowExitOnIdle',
  'maxUses',
  'onConnect',
  'verify',
  'client_encoding',
  'fallback_application_name',
  'enableChannelBinding',
  'sslnegotiation',
  'pipeline',
]);

/** Every {@link PostgresConfigInput} key; the `satisfies` makes the compiler flag a key added to the interface but not here. */
const INPUT_KEYS: ReadonlySet<string> = new Set(
  Object.keys({
    connectionString: true,
    host: true,
    port: true,
    database: true,
    user: true,
    password: true,
    sslMode: true,
    sslRootCert: true,
    sslCert: true,
    sslKey: true,
    maxConns: true,
    minConns: true,
    maxConnLifetime: true,
    maxConnLifetimeJitter: true,
    maxConnIdleTime: true,
    healthCheckPeriod: true,
    acquireTimeout: true,
    connectTimeout: true,
    statementTimeout: true,
    idleInTransactionSessionTimeout: true,
    applicationName: true,
    leakDetectionThreshold: true,
  } satisfies Record<keyof PostgresConfigInput, true>),
);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** pg name → our input name, for the settings that only differ in name. */
const RENAMED = Object.freeze({
  max: 'maxConns',
  min: 'minConns',
  idleTimeoutMillis: 'maxConnIdleTime',
  idle_in_transaction_session_timeout: 'idleInTransactionSessionTimeout',
  application_name: 'applicationName',
} as const satisfies Readonly<Record<string, keyof PostgresConfigInput>>);

/**
 * Fields of a loaded {@link PostgresConfig} that are no {@link PostgresConfigInput} setting (the
 * durations in milliseconds). An object with them is a copy of a loaded configuration, e.g.
 * `{ ...config, maxConns: 20 }`: it has lost the password (not an own property) and the brand.
 */
const LOADED_ONLY_KEYS: ReadonlySet<string> = new Set(
  Object.keys({
    maxConnLifetimeMs: true,
    maxConnLifetimeJitterMs: true,
    maxConnIdleTimeMs: true,
    healthCheckPeriodMs: true,
    acquireTimeoutMs: true,
    connectTimeoutMs: true,
    statementTimeoutMs: true,
    idleInTransactionSessionTimeoutMs: true,
    leakDetectionThresholdMs: true,
  } satisfies Record<Exclude<keyof PostgresConfig, keyof PostgresConfigInput>, true>),
);

/** The problem with an object that looks like a copy of a loaded configuration, if it is one. */
function copiedConfigProblem(value: object): ConfigProblem | undefined {
  const record = value as Readonly<Record<string, unknown>>;
  const keys = Object.keys(value).filter((key) => LOADED_ONLY_KEYS.has(key) && record[key] !== undefined);
  if (keys.length === 0) return undefined;
  return {
    field: keys.join(', '),
    message:
      'fields of a loaded PostgresConfig: a copy of one (e.g. { ...config, maxConns: 20 }) is not accepted, because it ' +
      'has lost the password and its durations would not be read; pass the overrides to loadConfig instead ' +
      '(loadConfig(env, { maxConns: 20 })) and give its result as it is',
  };
}

/**
 * Checks that `value` is configuration input for `loadConfig`: an object whose keys are all
 * {@link PostgresConfigInput} settings (`undefined` values are ignored). Throws `ConfigError`
 * naming every unknown key, with a dedicated message for a copy of a loaded configuration.
 */
export function checkConfigInput(value: unknown): PostgresConfigInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([{ field: 'config', message: 'must be a PostgresConfig from loadConfig or a PostgresConfigInput object' }]);
  }
  const problems: ConfigProblem[] = [];
  const copied = copiedConfigProblem(value);
  if (copied !== undefined) problems.push(copied);
  const record = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(value)) {
    if (record[key] === undefined || LOADED_ONLY_KEYS.has(key) || INPUT_KEYS.has(key)) continue;
    problems.push({ field: key, message: 'is not a known connection setting' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return value as PostgresConfigInput;
}

/**
 * The configuration to build a pool from: a configuration produced by `loadConfig` is used as it
 * is (recognised by its brand, `isLoadedConfig`); anything else is input, checked with
 * {@link checkConfigInput} and loaded over `env`. Throws `ConfigError`.
 */
export function resolveConfig(
  config: PostgresConfig | PostgresConfigInput | undefined,
  env: Readonly<Record<string, string | undefined>>,
): PostgresConfig {
  if (isLoadedConfig(config)) return config;
  return loadConfig(env, checkConfigInput(config ?? {}));
}

function sslMode(ssl: unknown, problems: ConfigProblem[]): string | undefined {
  if (ssl === undefined) return undefined;
  if (ssl === false) return 'disable';
  if (ssl === true) return 'verify-full';
  if (typeof ssl !== 'object' || ssl === null) {
    problems.push({ field: 'ssl', message: 'must be a boolean or an object' });
    return undefined;
  }
  const extra = Object.keys(ssl).filter((key) => key !== 'rejectUnauthorized');
  if (extra.length > 0) {
    problems.push({
      field: 'ssl',
      message:
        `TLS options ${extra.join(', ')} are not supported here; give certificate files as ` +
        'sslRootCert / sslCert / sslKey and choose verification with sslMode',
    });
  }
  return (ssl as { rejectUnauthorized?: unknown }).rejectUnauthorized === false ? 'require' : 'verify-full';
}

function setOnce(input: Mutable<PostgresConfigInput>, key: keyof PostgresConfigInput, value: unknown, from: string, problems: ConfigProblem[]): void {
  if (value === undefined) return;
  if (input[key] !== undefined) {
    problems.push({ field: from, message: `conflicts with ${key}; give only one of them` });
    return;
  }
  (input as Record<string, unknown>)[key] = value;
}

/**
 * Turns plain settings (pg names and/or our names) into {@link PostgresConfigInput} for
 * `loadConfig`. Throws `ConfigError` listing every problem: unsupported pg options, the same
 * setting under two names, TLS options that cannot be honoured. Values are never echoed.
 */
export function toConfigInput(options: SettingsDialectOptions): PostgresConfigInput {
  const problems: ConfigProblem[] = [];
  const copied = copiedConfigProblem(options);
  if (copied !== undefined) problems.push(copied);
  const input: Mutable<PostgresConfigInput> = {};
  const pgOnly = new Set<string>([...Object.keys(RENAMED), 'ssl', 'connectionTimeoutMillis', 'maxLifetimeSeconds', 'statement_timeout']);
  for (const key of Object.keys(options)) {
    if (DIALECT_KEYS.has(key) || pgOnly.has(key) || LOADED_ONLY_KEYS.has(key)) continue;
    if ((options as unknown as Record<string, unknown>)[key] === undefined) continue;
    if (UNSUPPORTED_PG_KEYS.has(key)) {
      problems.push({ field: key, message: 'this pg option is not supported by createDialect' });
      continue;
    }
    if (!INPUT_KEYS.has(key)) {
      problems.push({ field: key, message: 'is not a known connection setting' });
      continue;
    }
    (input as Record<string, unknown>)[key] = (options as unknown as Record<string, unknown>)[key];
  }
  if (typeof options.password === 'function') {
    problems.push({ field: 'password', message: 'must be a string (password functions are not supported)' });
  }
  for (const [from, to] of Object.entries(RENAMED) as [keyof typeof RENAMED, keyof PostgresConfigInput][]) {
    setOnce(input, to, options[from], from, problems);
  }
  const mode = sslMode(options.ssl, problems);
  setOnce(input, 'sslMode', mode, 'ssl', problems);
  // pg's `ssl: true` verifies against Node's built-in CA roots: libpq's `sslrootcert=system`.
  if (mode === 'verify-full' && input.sslRootCert === undefined) input.sslRootCert = 'system';
  const { connectionTimeoutMillis, maxLifetimeSeconds, statement_timeout: statementTimeout } = options;
  setOnce(input, 'connectTimeout', connectionTimeoutMillis, 'connectionTimeoutMillis', problems);
  // pg's pool uses it for the wait too; its 0 ("wait forever") keeps our finite acquire timeout.
  if (connectionTimeoutMillis !== undefined && connectionTimeoutMillis !== 0 && input.acquireTimeout === undefined) {
    input.acquireTimeout = connectionTimeoutMillis;
  }
  if (maxLifetimeSeconds !== undefined) {
    if (typeof maxLifetimeSeconds !== 'number' || !Number.isFinite(maxLifetimeSeconds) || maxLifetimeSeconds < 0) {
      problems.push({ field: 'maxLifetimeSeconds', message: 'must be a non-negative number of seconds' });
    } else {
      setOnce(input, 'maxConnLifetime', maxLifetimeSeconds * 1000, 'maxLifetimeSeconds', problems);
    }
  }
  setOnce(input, 'statementTimeout', statementTimeout === false ? 0 : statementTimeout, 'statement_timeout', problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(input);
}
