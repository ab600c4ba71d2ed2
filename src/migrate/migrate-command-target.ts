/**
 * Which database `alert-history-db migrate` works on: `DATABASE_URL`, else goose's
 * `GOOSE_DBSTRING` (a URL or libpq `key=value` settings), else the `PG*`/`DB_*` variables that
 * `loadConfig` reads. The result is a frozen `PostgresConfig`; the CLI never prints it.
 */
import { ConfigError, type ConfigProblem } from '../errors/config-error.js';
import { loadConfig, type ConfigWarning } from '../config/load-config.js';
import type { PostgresConfig } from '../config/postgres-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** goose drivers that mean PostgreSQL (`GOOSE_DRIVER`); any other is refused. */
const POSTGRES_DRIVERS: ReadonlySet<string> = new Set(['postgres', 'pgx']);

/** One `key=value` pair of a libpq connection string, value unquoted. */
interface KeywordValue {
  readonly key: string;
  readonly value: string;
}

/**
 * Reads libpq's keyword/value form (`host=db port=5432 dbname='my db' password='it\'s'`): pairs
 * separated by whitespace, `=` with optional spaces around it, values single-quoted when they
 * hold spaces, `\'` and `\\` escapes inside. `undefined` when the text does not have that form.
 */
export function parseKeywordValueString(text: string): readonly KeywordValue[] | undefined {
  const pairs: KeywordValue[] = [];
  let at = 0;
  const skipSpaces = (): void => {
    while (at < text.length && /\s/.test(text[at] ?? '')) at++;
  };
  skipSpaces();
  while (at < text.length) {
    const keyMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at));
    if (keyMatch === null) return undefined;
    const key = keyMatch[0];
    at += key.length;
    skipSpaces();
    if (text[at] !== '=') return undefined;
    at++;
    skipSpaces();
    let value = '';
    if (text[at] === "'") {
      at++;
      let closed = false;
      while (at < text.length) {
        const ch = text[at] ?? '';
        if (ch === '\\' && at + 1 < text.length) {
          value += text[at + 1];
          at += 2;
        } else if (ch === "'") {
          at++;
          closed = true;
          break;
        } else {
          value += ch;
          at++;
        }
      }
      if (!closed) return undefined;
    } else {
      while (at < text.length && !/\s/.test(text[at] ?? '')) {
        const ch = text[at] ?? '';
        if (ch === '\\' && at + 1 < text.length) {
          value += text[at + 1];
          at += 2;
        } else {
          value += ch;
          at++;
        }
      }
    }
    pairs.push({ key, value });
    skipSpaces();
  }
  return pairs.length === 0 ? undefined : pairs;
}

/** `GOOSE_DBSTRING` as a connection URL: a URL stays as it is, `key=value` settings become query parameters. */
function dbstringUrl(dbstring: string): string | undefined {
  if (/^postgres(ql)?:\/\//i.test(dbstring)) return dbstring;
  const pairs = parseKeywordValueString(dbstring);
  if (pairs === undefined) return undefined;
  const query = pairs.map(({ key, value }) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
  return `postgres://?${query}`;
}

/** The configuration's problems, with `connectionString` renamed to the variable it came from. */
function renamed(error: unknown, from: string, to: string): unknown {
  if (!(error instanceof ConfigError)) return error;
  const rename = (field: string): string => (field === from ? to : field.startsWith(`${from}:`) ? `${to}${field.slice(from.length)}` : field);
  return new ConfigError(error.problems.map((p): ConfigProblem => ({ field: rename(p.field), message: p.message })));
}

/**
 * The configuration the CLI connects with. Pools built from it open no idle connection
 * (`minConns: 0`): a command uses one session.
 *
 * - `DATABASE_URL` (non-empty): read by `loadConfig`, `PG*`/`DB_*` filling in what it leaves out.
 * - else `GOOSE_DBSTRING`: a `postgres://` URL, or libpq `key=value` settings, as goose takes it.
 *   `GOOSE_DRIVER`, when set, must be `postgres` (or `pgx`).
 * - else the `PG*` and `DB_*` variables and their defaults (docs/configuration.md).
 *
 * @throws {ConfigError} listing every problem (never a password or the URL).
 */
export function commandTarget(env: Env, onWarning: (warning: ConfigWarning) => void): PostgresConfig {
  const driver = env.GOOSE_DRIVER;
  if (driver !== undefined && driver !== '' && !POSTGRES_DRIVERS.has(driver.toLowerCase())) {
    throw new ConfigError([{ field: 'GOOSE_DRIVER', message: `is ${JSON.stringify(driver)}, but this runner speaks PostgreSQL only (postgres)` }]);
  }
  const databaseUrl = env.DATABASE_URL;
  const dbstring = env.GOOSE_DBSTRING;
  if ((databaseUrl === undefined || databaseUrl === '') && dbstring !== undefined && dbstring !== '') {
    const url = dbstringUrl(dbstring);
    if (url === undefined) {
      throw new ConfigError([
        { field: 'GOOSE_DBSTRING', message: 'is neither a postgres:// URL nor libpq key=value settings (the value is not shown because it may contain a password)' },
      ]);
    }
    const rest = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'DATABASE_URL'));
    const warn = (warning: ConfigWarning): void =>
      onWarning({ ...warning, field: warning.field.replace(/^connectionString/, 'GOOSE_DBSTRING') });
    try {
      return loadConfig(rest, { connectionString: url, minConns: 0 }, { onWarning: warn });
    } catch (error) {
      throw renamed(error, 'connectionString', 'GOOSE_DBSTRING');
    }
  }
  return loadConfig(env, { minConns: 0 }, { onWarning });
}
