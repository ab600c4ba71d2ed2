import { ConfigError, type ConfigProblem } from '../errors/config-error.js';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import { ConfigSources, type Candidate, type FieldSources } from './config-sources.js';
import {
  parseCount,
  parseDurationMs,
  parseHost,
  parseName,
  parsePort,
  parseSslMode,
  parseTimeoutSeconds,
  type Parsed,
} from './config-values.js';
import { parseConnectionUrl, type ConnectionUrl } from './connection-url.js';
import { FIELD_SOURCES, URL_PARAMETERS } from './field-sources.js';
import { freezeConfig } from './frozen-config.js';
import { pgpassPath } from './libpq-paths.js';
import { readPgpass } from './pgpass.js';
import type { PostgresConfig, PostgresConfigInput } from './postgres-config.js';
import { choosePassword } from './secrets.js';
import { resolveTlsSettings } from './tls-settings.js';

/** Something odd but not fatal in the configuration (e.g. an insecure `~/.pgpass` that was ignored). */
export interface ConfigWarning {
  /** The source concerned, as the user names it (`PGPASSFILE`, `~/.pgpass`, `PGOPTIONS`…). */
  readonly field: string;
  /** What is odd, for a log line. Never contains a secret. */
  readonly message: string;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Receives each warning. Default: `process.emitWarning` (printed on stderr unless handled). */
  readonly onWarning?: (warning: ConfigWarning) => void;
}

/** Environment variables as `loadConfig` reads them (`process.env`, or a plain object). */
export type ConfigEnvironment = Readonly<Record<string, string | undefined>>;


const MIN_SCRUBBED_LENGTH = 4;

/**
 * The explicit options that say which server, database and role to connect to, and with which
 * password. Giving any of them makes {@link loadConfig} ignore `DATABASE_URL`.
 */
const CONNECTION_IDENTITY_FIELDS = Object.freeze(['connectionString', 'host', 'port', 'database', 'user', 'password'] as const);

/**
 * Builds the validated, frozen {@link PostgresConfig}.
 *
 * Each setting comes from the first source that gives it: the `explicit` options; the connection
 * URL (`explicit.connectionString`, else `DATABASE_URL`); libpq's `PG*` variables; the `DB_*`
 * variables; `~/.pgpass` (password only); the defaults. libpq's TLS meaning applies to `sslmode`
 * (see `tlsPlan`). Everything, including `HOME` and `PGPASSFILE`, is read from `env` — not from
 * `process.env` unless that is what is passed — so the result depends only on the arguments and
 * the files they name. Empty variables count as unset. See docs/configuration.md for every name.
 *
 * `DATABASE_URL` describes one server, and is never mixed with explicit options that describe
 * another: when `explicit` gives any connection identity field (`connectionString`, `host`,
 * `port`, `database`, `user`, `password`), `DATABASE_URL` is ignored entirely — none of its parts
 * or parameters is read — and a warning says so (without the URL). The `PG*` and `DB_*` variables
 * are still merged setting by setting, as libpq merges them; `PGPASSWORD` (like `DB_PASSWORD`) is
 * then sent to whatever host the configuration names, as libpq sends it.
 *
 * A password taken from a URL (`explicit.connectionString`, or `DATABASE_URL`) is sent only to the
 * server that URL designates: its host and port, or — for a part the URL leaves out — the `PG*`/
 * `DB_*` variable or default that libpq would use. When an explicit `host` or `port` connects to
 * another server (`{ connectionString: 'postgres://u:pw@hostC/db', host: 'hostD' }`), the URL's
 * password is dropped, a warning names `connectionString:password` (never the value), and the
 * lower sources (`PGPASSWORD`, `DB_PASSWORD`, their `*_FILE`, the password file) may supply one;
 * an explicit `password` is used as given. A URL without a host (or port) leaves it to the
 * environment, as in libpq: `DATABASE_URL=postgres://u:pw@/db` with `PGHOST=hostB` sends `pw` to
 * `hostB` — the URL designates "the host PGHOST names", and both are the deployment's settings.
 *
 * @throws {ConfigError} listing every problem found (never only the first); no message ever
 *   contains the password or the connection URL.
 */
export function loadConfig(env: ConfigEnvironment = process.env, explicit: PostgresConfigInput = {}, options: LoadConfigOptions = {}): PostgresConfig {
  const problems: ConfigProblem[] = [];
  const onWarning = options.onWarning ?? emitConfigWarning;
  const warn = (field: string, message: string): void => onWarning({ field, message });
  const url = connectionUrl(env, explicit, problems, warn);
  const sources = new ConfigSources(env, explicit, url);
  const read = <T>(field: FieldSources, parse: (candidate: Candidate) => Parsed<T>): T | undefined =>
    readSetting(sources, field, parse, problems);
  const duration = (field: FieldSources, minMs = 0): number | undefined =>
    read(field, (candidate) => parseDurationMs(candidate.value, minMs));
  if (sources.env('PGOPTIONS') !== undefined) {
    warn('PGOPTIONS', 'is not supported and is ignored; use DB_STATEMENT_TIMEOUT and the other DB_* settings, or ALTER ROLE … SET');
  }

  const host = read(FIELD_SOURCES.host, (c) => parseHost(String(c.value))) ?? CONFIG_DEFAULTS.host;
  const port = read(FIELD_SOURCES.port, (c) => parsePort(c.value)) ?? CONFIG_DEFAULTS.port;
  const user = read(FIELD_SOURCES.user, (c) => parseName(String(c.value))) ?? CONFIG_DEFAULTS.user;
  const database = read(FIELD_SOURCES.database, (c) => parseName(String(c.value))) ?? user;

  const moved = serverChanges(env, explicit, url);
  if (moved.length > 0 && url !== undefined) {
    warn(
      `${url.source}:password`,
      `is not used: the explicit ${moved.join(' and ')} option${moved.length > 1 ? 's connect' : ' connects'} ` +
        "to another server than the URL names, and a URL's password is sent only to the URL's server; PGPASSWORD, " +
        'DB_PASSWORD, their *_FILE variables and the password file are looked up instead (give the password option to choose one)',
    );
  }
  const chosen = choosePassword(sources, problems, moved.length > 0);
  let password = chosen.password;
  const passFile = pgpassPath(env);
  if (!chosen.decided && passFile !== undefined) {
    const found = readPgpass(passFile, { host, port, database, user }, sources.env('PGPASSFILE') !== undefined);
    if (found.warning !== undefined) warn(sources.env('PGPASSFILE') === undefined ? '~/.pgpass' : 'PGPASSFILE', found.warning);
    password = found.password;
  }

  const modeCandidate = sources.first(FIELD_SOURCES.sslMode);
  const mode = read(FIELD_SOURCES.sslMode, (c) => parseSslMode(String(c.value)));
  const tls = resolveTlsSettings(
    {
      mode: mode === undefined || modeCandidate === undefined ? undefined : { value: mode, field: modeCandidate.field },
      rootCert: sources.first(FIELD_SOURCES.sslRootCert),
      cert: sources.first(FIELD_SOURCES.sslCert),
      key: sources.first(FIELD_SOURCES.sslKey),
    },
    env,
    problems,
    warn,
  );

  const maxConns = read(FIELD_SOURCES.maxConns, (c) => parseCount(c.value, 1));
  const minConns = read(FIELD_SOURCES.minConns, (c) => parseCount(c.value, 0));
  const lifetime = duration(FIELD_SOURCES.maxConnLifetime);
  const jitter = duration(FIELD_SOURCES.maxConnLifetimeJitter);
  const limits = {
    maxConns: maxConns ?? CONFIG_DEFAULTS.maxConns,
    minConns: minConns ?? CONFIG_DEFAULTS.minConns,
    maxConnLifetimeMs: lifetime ?? CONFIG_DEFAULTS.maxConnLifetimeMs,
    maxConnLifetimeJitterMs: jitter ?? Math.floor((lifetime ?? CONFIG_DEFAULTS.maxConnLifetimeMs) * CONFIG_DEFAULTS.maxConnLifetimeJitterRatio),
  };
  // Cross-checks only between values that are valid (a broken maxConns is reported once, not twice).
  const invalid = (field: FieldSources, value: number | undefined): boolean => value === undefined && sources.first(field) !== undefined;
  if (minConns !== undefined && !invalid(FIELD_SOURCES.maxConns, maxConns) && minConns > limits.maxConns) {
    const field = sources.first(FIELD_SOURCES.minConns)?.field ?? 'minConns';
    problems.push({ field, message: `must not exceed maxConns (${minConns} > ${limits.maxConns})` });
  }
  if (jitter !== undefined && !invalid(FIELD_SOURCES.maxConnLifetime, lifetime) && jitter > limits.maxConnLifetimeMs) {
    const field = sources.first(FIELD_SOURCES.maxConnLifetimeJitter)?.field ?? 'maxConnLifetimeJitter';
    problems.push({ field, message: `must not exceed the connection lifetime (${jitter} ms > ${limits.maxConnLifetimeMs} ms)` });
  }

  const fields = {
    host,
    port,
    database,
    user,
    ...tls,
    ...limits,
    maxConnIdleTimeMs: duration(FIELD_SOURCES.maxConnIdleTime) ?? CONFIG_DEFAULTS.maxConnIdleTimeMs,
    healthCheckPeriodMs: duration(FIELD_SOURCES.healthCheckPeriod, 1) ?? CONFIG_DEFAULTS.healthCheckPeriodMs,
    acquireTimeoutMs: duration(FIELD_SOURCES.acquireTimeout, 1) ?? CONFIG_DEFAULTS.acquireTimeoutMs,
    connectTimeoutMs:
      read(FIELD_SOURCES.connectTimeout, (c) => (inSeconds(c) ? parseTimeoutSeconds(c.value) : parseDurationMs(c.value))) ??
      CONFIG_DEFAULTS.connectTimeoutMs,
    statementTimeoutMs: duration(FIELD_SOURCES.statementTimeout) ?? CONFIG_DEFAULTS.statementTimeoutMs,
    idleInTransactionSessionTimeoutMs:
      duration(FIELD_SOURCES.idleInTransactionSessionTimeout) ?? CONFIG_DEFAULTS.idleInTransactionSessionTimeoutMs,
    applicationName: read(FIELD_SOURCES.applicationName, (c) => ({ ok: true, value: String(c.value) })) ?? CONFIG_DEFAULTS.applicationName,
    leakDetectionThresholdMs: duration(FIELD_SOURCES.leakDetectionThreshold) ?? CONFIG_DEFAULTS.leakDetectionThresholdMs,
  };
  if (problems.length > 0) throw new ConfigError(withoutSecrets(problems, [password, ...passwordInputs(env, explicit, url)]));
  return freezeConfig(fields, password);
}

/**
 * The URL to read: `explicit.connectionString` when given (even empty: then no URL); else
 * `DATABASE_URL`, unless `explicit` gives another of the {@link CONNECTION_IDENTITY_FIELDS}. An
 * ignored `DATABASE_URL` is not parsed, and is reported by a warning that does not contain it.
 */
function connectionUrl(
  env: ConfigEnvironment,
  explicit: PostgresConfigInput,
  problems: ConfigProblem[],
  warn: (field: string, message: string) => void,
): ConnectionUrl | undefined {
  const identity = CONNECTION_IDENTITY_FIELDS.filter((field) => explicit[field] !== undefined);
  const databaseUrl = env.DATABASE_URL;
  if (identity.length > 0 && databaseUrl !== undefined && databaseUrl !== '') {
    warn(
      'DATABASE_URL',
      `is ignored entirely because the explicit options give ${identity.join(', ')}: none of its parts ` +
        '(user, password, host, port, database) or parameters is combined with them; PG* and DB_* variables still apply',
    );
  }
  if (explicit.connectionString !== undefined) return parseUrl('connectionString', explicit.connectionString, problems);
  return identity.length > 0 ? undefined : parseUrl('DATABASE_URL', databaseUrl, problems);
}

function parseUrl(source: string, text: string | undefined, problems: ConfigProblem[]): ConnectionUrl | undefined {
  if (text === undefined || text === '') return undefined;
  const parsed = parseConnectionUrl(source, text, URL_PARAMETERS);
  problems.push(...parsed.problems);
  return parsed.url;
}

/**
 * The explicit options (`host`, `port`) that connect to another server than the one the URL
 * designates: the URL's host and port, completed (where the URL leaves them out) by the `PG*`/
 * `DB_*` variables and the defaults, as libpq completes them. An explicit value equal to the URL's
 * is no change; one that cannot be compared (invalid on either side) counts as a change. Empty
 * when there is no URL password to protect, or when the explicit `password` decides anyway.
 */
function serverChanges(env: ConfigEnvironment, explicit: PostgresConfigInput, url: ConnectionUrl | undefined): ('host' | 'port')[] {
  if (url?.params.get('password') === undefined || explicit.password !== undefined) return [];
  const urlServer = new ConfigSources(env, {}, url);
  const finalServer = new ConfigSources(env, explicit, url);
  return (['host', 'port'] as const).filter((key) => {
    if (explicit[key] === undefined) return false;
    const designated = serverPart(urlServer, key);
    return designated === undefined || designated !== serverPart(finalServer, key);
  });
}

/** The host or port the sources give (the default if none does); `undefined` when invalid. */
function serverPart(sources: ConfigSources, key: 'host' | 'port'): string | number | undefined {
  const candidate = sources.first(FIELD_SOURCES[key]);
  if (candidate === undefined) return CONFIG_DEFAULTS[key];
  const parsed = key === 'host' ? parseHost(String(candidate.value)) : parsePort(candidate.value);
  return parsed.ok ? parsed.value : undefined;
}

/** Parses the highest-priority value of a setting; records a problem (and returns `undefined`) when it is invalid. */
function readSetting<T>(
  sources: ConfigSources,
  field: FieldSources,
  parse: (candidate: Candidate) => Parsed<T>,
  problems: ConfigProblem[],
): T | undefined {
  const candidate = sources.first(field);
  if (candidate === undefined) return undefined;
  const parsed = parse(candidate);
  if (parsed.ok) return parsed.value;
  problems.push({ field: candidate.field, message: parsed.message });
  return undefined;
}

/** `connect_timeout` and `PGCONNECT_TIMEOUT` are libpq's: whole seconds. */
function inSeconds(candidate: Candidate): boolean {
  return candidate.kind === 'url' || candidate.field === 'PGCONNECT_TIMEOUT';
}

/** Every password the inputs hold, to be kept out of problem messages. */
function passwordInputs(env: ConfigEnvironment, explicit: PostgresConfigInput, url: ConnectionUrl | undefined): (string | undefined)[] {
  return [explicit.password, url?.params.get('password'), env.PGPASSWORD, env.DB_PASSWORD];
}

/**
 * Belt and braces: no problem mentions a password, even by coincidence (e.g. a password pasted
 * into PGPORT). Passwords shorter than 4 characters are left alone: they occur inside ordinary
 * words, and replacing them would garble every message without hiding anything.
 */
function withoutSecrets(problems: readonly ConfigProblem[], secrets: readonly (string | undefined)[]): ConfigProblem[] {
  const known = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= MIN_SCRUBBED_LENGTH);
  const scrub = (text: string): string => known.reduce((result, secret) => result.split(secret).join('[redacted]'), text);
  return problems.map((problem) => ({ field: scrub(problem.field), message: scrub(problem.message) }));
}

function emitConfigWarning(warning: ConfigWarning): void {
  process.emitWarning(`${warning.field}: ${warning.message}`, { type: 'ConfigWarning', code: 'ALERT_HISTORY_DB_CONFIG' });
}
