import winston from 'winston';
import { ConfigError, type ConfigProblem } from '../errors/config-error.js';
import type { Logger } from './logger.js';

/** Output format of {@link createLogger}: one JSON object per line, or one readable line of text. */
export type LogFormat = 'json' | 'pretty';

/** Options of {@link createLogger}. Explicit options win over the environment. */
export interface LoggerOptions {
  /**
   * Lowest level written, one of winston's npm levels: `error`, `warn`, `info`, `http`, `verbose`,
   * `debug`, `silly`. Default: `LOG_LEVEL` from {@link LoggerOptions.env}, else `info`.
   */
  readonly level?: string;
  /** Output format. Default: `LOG_FORMAT` from {@link LoggerOptions.env}, else `json`. */
  readonly format?: LogFormat;
  /**
   * Environment read for `LOG_LEVEL`, `LOG_FORMAT` (both case-insensitive, empty means unset) and
   * `NO_COLOR`. Default `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the lines go, each ended by `\n`. Default `process.stdout`. */
  readonly stream?: NodeJS.WritableStream;
  /** Fields added to every line (e.g. `{ service: 'alerts-api' }`); redacted like any other meta. */
  readonly defaultMeta?: Record<string, unknown>;
  /**
   * Keys whose values are replaced by `'[REDACTED]'`, in addition to the defaults (`password`,
   * `passwd`, `pwd`, `secret`, `token`, `api_key`/`apiKey`, `authorization`, `cookie`,
   * `connectionString`, each matched anywhere in the key, ignoring case). A string matches a key
   * equal to it, ignoring case; a `RegExp` is tested against the key.
   */
  readonly redactKeys?: readonly (string | RegExp)[];
}

const LEVELS: readonly string[] = Object.keys(winston.config.npm.levels);
const FORMATS: readonly LogFormat[] = ['json', 'pretty'];

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

/** What replaces the value of a secret key. */
const REDACTED = '[REDACTED]';
/** What replaces a password inside a string. */
const MASK = '***';
/** Nesting depth of meta below which values are replaced by {@link TRUNCATED}. */
const MAX_DEPTH = 8;
const TRUNCATED = '[Truncated]';
const CIRCULAR = '[Circular]';

const DEFAULT_REDACT_KEYS: readonly RegExp[] = [
  /password/i,
  /passwd/i,
  /pwd/i,
  /secret/i,
  /token/i,
  /api[_-]?key/i,
  /authorization/i,
  /cookie/i,
  /connection[_-]?string/i,
  /passphrase/i,
  /private[_-]?key/i,
  /^credentials?$/i,
  /^pass$/i,
  /^pw$/i,
];

/**
 * `scheme://user:password@`: the password runs to the last `@` before white space, so a password
 * with an unencoded `@` or `/` is masked whole (at the price of masking some text after a `:` in
 * URLs without credentials whose path holds an `@`).
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#:]*:)(\S*)@/gi;
/** libpq keyword form (`password=secret`, `password='a b'`), also `PGPASSWORD=` and `?password=` in URLs. */
const KEYWORD_PASSWORD = /((?:password|passwd|pwd)\s*=\s*)('(?:\\.|[^'\\])*'?|"(?:\\.|[^"\\])*"?|[^\s'"]\S*)/gi;
/** Secrets in URL query strings: `?token=…`, `&access_token=…`, `api_key=…`, `secret=…`. */
const QUERY_SECRET = /([?&;](?:[a-z_]*token|api[_-]?key|secret|signature|sig)=)([^&#\s]*)/gi;
/** A secret key quoted in JSON or a JS literal inside a string: `"password":"x"`, `token: 'x'`. */
const QUOTED_SECRET = /((["']?)(?:password|passwd|secret|token|api[_-]?key|authorization|passphrase)\2\s*:\s*)("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^\s,}]+)/gi;
/** SQL that sets a password inline (`ALTER ROLE … PASSWORD 'x'`, `CREATE USER … WITH PASSWORD 'x'`). */
const SQL_PASSWORD = /(\bpassword\s+)('(?:''|[^'])*'|E'(?:\\.|''|[^'\\])*')/gi;

/** Masks URL credentials, `password=` values, secrets in query strings and quoted keys, and inline SQL passwords in `text`. */
export function redactString(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1${MASK}@`)
    .replace(KEYWORD_PASSWORD, `$1${MASK}`)
    .replace(QUERY_SECRET, `$1${MASK}`)
    .replace(QUOTED_SECRET, `$1"${MASK}"`)
    .replace(SQL_PASSWORD, `$1'${MASK}'`);
}

type KeyTest = (key: string) => boolean;

function keyTest(extra: readonly (string | RegExp)[] = []): KeyTest {
  const patterns = [...DEFAULT_REDACT_KEYS];
  const names = new Set<string>();
  for (const entry of extra) {
    if (typeof entry === 'string') names.add(entry.toLowerCase());
    // without g/y, `test` keeps no state between calls
    else patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
  }
  return (key) => names.has(key.toLowerCase()) || patterns.some((pattern) => pattern.test(key));
}

interface Redactor {
  readonly isSecretKey: KeyTest;
  /** Whether an error's `stack` is kept (the logger's level enables `debug`). */
  readonly withStack: () => boolean;
}

/** An error as `{ name, message, code?, cause?, stack? }`, its strings redacted. */
function describeErrorForLog(error: Error, redactor: Redactor, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const described: Record<string, unknown> = { name: error.name, message: redactString(String(error.message)) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') described.code = code;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) described.cause = redactValue(cause, redactor, depth + 1, ancestors);
  if (redactor.withStack() && typeof error.stack === 'string') described.stack = redactString(error.stack);
  return described;
}

/**
 * A redacted copy of `value`: secret keys replaced, strings masked, errors described, cycles and
 * depth cut. Never modifies `value`. Returns `undefined` for what JSON would leave out (functions).
 */
function redactValue(value: unknown, redactor: Redactor, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'function') return undefined;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (ancestors.has(value)) return CIRCULAR;
  if (depth >= MAX_DEPTH) return TRUNCATED;
  ancestors.add(value);
  try {
    if (value instanceof Error) return describeErrorForLog(value, redactor, depth, ancestors);
    if (Array.isArray(value)) return value.map((item) => redactValue(item, redactor, depth + 1, ancestors) ?? null);
    if (value instanceof Map) return redactEntries([...value].map(([key, item]) => [String(key), item]), redactor, depth, ancestors);
    if (value instanceof Set) return [...value].map((item) => redactValue(item, redactor, depth + 1, ancestors) ?? null);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // Date, Buffer, and objects that choose their own JSON: redact what JSON would write
      return redactValue(toJSON.call(value), redactor, depth + 1, ancestors);
    }
    return redactEntries(
      Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]]),
      redactor,
      depth,
      ancestors,
    );
  } catch {
    // a throwing getter or toJSON: show that something was there, not what
    return '[Unserializable]';
  } finally {
    ancestors.delete(value);
  }
}

function redactEntries(entries: readonly (readonly [string, unknown])[], redactor: Redactor, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    if (item === undefined) continue;
    const redacted = redactor.isSecretKey(key) ? REDACTED : redactValue(item, redactor, depth + 1, ancestors);
    if (redacted !== undefined) copy[key] = redacted;
  }
  return copy;
}

/** Keys placed first, in this order; the rest follow in the order they were given. */
const HEAD_KEYS = new Set(['timestamp', 'level', 'message']);

/**
 * The winston format shared by both outputs: a new info object `{ timestamp, level, message,
 * ...meta }`, every value redacted. Winston hands the caller's own object to formats in some call
 * forms (`logger.info({ message, ... })`), so nothing is modified in place.
 */
function redactFormat(redactor: Redactor): winston.Logform.Format {
  return winston.format((info) => {
    const ancestors = new Set<object>();
    const source = info as Record<string | symbol, unknown>;
    const message = source.message;
    const shaped: Record<string | symbol, unknown> = {
      timestamp: new Date().toISOString(),
      level: info.level,
      message: typeof message === 'string' ? redactString(message) : (redactValue(message, redactor, 1, ancestors) ?? ''),
    };
    // `logger.error(error)` hands winston the error itself as the info object
    if (info instanceof Error) {
      shaped.name = info.name;
      if (redactor.withStack() && typeof info.stack === 'string') shaped.stack = redactString(info.stack);
    }
    for (const key of Object.keys(source)) {
      if (HEAD_KEYS.has(key)) continue;
      const item = source[key];
      if (item === undefined) continue;
      // winston copies an error given as meta to a top-level `stack` (and `cause`)
      if (key === 'stack' && typeof item === 'string') {
        if (redactor.withStack()) shaped.stack = redactString(item);
        continue;
      }
      const redacted = redactor.isSecretKey(key) ? REDACTED : redactValue(item, redactor, 1, ancestors);
      if (redacted !== undefined) shaped[key] = redacted;
    }
    shaped[LEVEL] = source[LEVEL] ?? info.level;
    return shaped as winston.Logform.TransformableInfo;
  })();
}

const ANSI: Readonly<Record<string, string>> = {
  error: '\u001b[31m',
  warn: '\u001b[33m',
  info: '\u001b[32m',
  http: '\u001b[35m',
  verbose: '\u001b[36m',
  debug: '\u001b[34m',
  silly: '\u001b[90m',
};
const ANSI_RESET = '\u001b[39m';
const DIM = '\u001b[2m';
const DIM_RESET = '\u001b[22m';

/** A `key=value` value: bare when it is one plain word, JSON-quoted otherwise (so one line). */
function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"'=\\]+$/.test(value) && !hasControlCharacter(value) ? value : JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

/** `key=value` pairs; plain objects are flattened to dotted keys (`error.code=57014`). */
function prettyPairs(prefix: string, value: unknown, out: string[]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) prettyPairs(`${prefix}.${key}`, item, out);
    return;
  }
  out.push(`${prefix}=${prettyValue(value)}`);
}

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (isControl(text.charCodeAt(i))) return true;
  return false;
}

/** `text` with line breaks as `\n` and other control characters as `\uXXXX`: one line, no terminal escapes. */
function oneLine(text: string): string {
  if (!hasControlCharacter(text)) return text;
  let result = '';
  for (const char of text.replace(/\r\n|\r|\n/g, '\n')) {
    const code = char.charCodeAt(0);
    result += char === '\n' ? '\\n' : isControl(code) ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return result;
}

/** `2026-11-27T03:51:16.123Z warn  [pool] message key=value`, colors on the level when `colors`. */
function prettyFormat(colors: boolean): winston.Logform.Format {
  return winston.format((info) => {
    const { timestamp, level, message, component, ...meta } = info as Record<string, unknown>;
    const levelName = String(level);
    const padding = ' '.repeat(Math.max(0, 5 - levelName.length));
    const parts = [
      colors ? `${DIM}${String(timestamp)}${DIM_RESET}` : String(timestamp),
      `${colors && ANSI[levelName] !== undefined ? `${ANSI[levelName]}${levelName}${ANSI_RESET}` : levelName}${padding}`,
    ];
    if (typeof component === 'string') parts.push(`[${oneLine(component)}]`);
    else if (component !== undefined) meta.component = component;
    parts.push(oneLine(typeof message === 'string' ? message : (JSON.stringify(message) ?? '')));
    const pairs: string[] = [];
    for (const [key, value] of Object.entries(meta)) prettyPairs(key, value, pairs);
    if (pairs.length > 0) parts.push(oneLine(pairs.join(' ')));
    (info as Record<symbol, unknown>)[MESSAGE] = parts.join(' ');
    return info;
  })();
}

interface Settings {
  readonly level: string;
  readonly format: LogFormat;
}

function readSettings(options: LoggerOptions): Settings {
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const pick = <T extends string>(explicit: string | undefined, field: string, variable: string, allowed: readonly T[], fallback: T): T => {
    const fromEnv = env[variable]?.trim();
    const [source, raw] = explicit !== undefined ? [field, explicit] : fromEnv ? [variable, fromEnv.toLowerCase()] : [undefined, undefined];
    if (source === undefined || raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push({ field: source, message: `must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})` });
    return fallback;
  };
  const level = pick(options.level, 'level', 'LOG_LEVEL', LEVELS, 'info');
  const format = pick(options.format, 'format', 'LOG_FORMAT', FORMATS, 'json');
  if (problems.length > 0) throw new ConfigError(problems);
  return { level, format };
}

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: unknown }).isTTY === true;
}

/**
 * A winston logger for the library and the application: JSON lines by default
 * (`{"timestamp":"…","level":"warn","message":"…","pool":"default",…}`), one readable line per
 * entry with `LOG_FORMAT=pretty`, the level from `LOG_LEVEL` (default `info`).
 *
 * Before anything is written, values of secret keys (see {@link LoggerOptions.redactKeys}) become
 * `'[REDACTED]'` at any depth, URL credentials and `password=` values in strings (message
 * included) are masked as `***`, errors become `{ name, message, code?, cause? }` (with `stack`
 * only when the logger's level enables `debug`), cycles become `'[Circular]'` and values nested
 * deeper than 8 levels `'[Truncated]'`. The caller's objects are never modified.
 *
 * Pretty output is colored only when the stream is a TTY and `NO_COLOR` is unset.
 *
 * @throws ConfigError when the level or format (explicit, or from `LOG_LEVEL` / `LOG_FORMAT`) is
 *   not an allowed value; every problem is listed.
 */
export function createLogger(options: LoggerOptions = {}): winston.Logger {
  const { level, format } = readSettings(options);
  const env = options.env ?? process.env;
  const stream = options.stream ?? process.stdout;
  const redactor: Redactor = {
    isSecretKey: keyTest(options.redactKeys),
    // called only when a line is written, after `logger` is assigned
    withStack: () => logger.isLevelEnabled('debug'),
  };
  const colors = format === 'pretty' && isTty(stream) && !env.NO_COLOR;
  const logger = winston.createLogger({
    level,
    levels: winston.config.npm.levels,
    defaultMeta: options.defaultMeta,
    exitOnError: false,
    format: winston.format.combine(
      redactFormat(redactor),
      format === 'json' ? winston.format.json({ deterministic: false }) : prettyFormat(colors),
    ),
    transports: [new winston.transports.Stream({ stream, eol: '\n' })],
  });
  return logger;
}

const METHODS = ['error', 'warn', 'info', 'debug'] as const;

function isLogger(value: unknown): value is Logger {
  return value !== null && typeof value === 'object' && METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
}

/**
 * A logger that adds `component` to every line of `logger` (`[pool]` in pretty output, a
 * `component` field in JSON). Uses `logger.child({ component })` when `logger` has a `child`
 * function (winston, so the child keeps the parent's format, level and transports); otherwise
 * wraps the four methods to add `component` to their meta. A `component` in a line's own meta wins,
 * as with winston's children. Accepts any object with `error`, `warn`, `info` and `debug`.
 */
export function componentLogger(logger: Logger, component: string): Logger {
  const child = (logger as { child?: unknown }).child;
  if (typeof child === 'function') {
    const derived: unknown = child.call(logger, { component });
    if (isLogger(derived)) return derived;
  }
  const wrap =
    (method: (typeof METHODS)[number]) =>
    (message: string, meta?: Record<string, unknown>): unknown =>
      logger[method](message, { component, ...meta });
  return Object.freeze({ error: wrap('error'), warn: wrap('warn'), info: wrap('info'), debug: wrap('debug') });
}
