import { parse } from 'pg-connection-string';
import type { ConfigProblem } from '../errors/config-error.js';

/** A parsed connection URL: libpq keywords (`host`, `port`, `dbname`, `sslmode`…) to values. */
export interface ConnectionUrl {
  /** How the user named the URL: `DATABASE_URL` or `connectionString`. */
  readonly source: string;
  /** Non-empty values by libpq keyword; query parameters override the URL's parts. */
  readonly params: ReadonlyMap<string, string>;
}

/** The result of {@link parseConnectionUrl}: the URL, and the problems found in it. */
export interface ParsedConnectionUrl {
  /** `undefined` when the URL could not be parsed at all. */
  readonly url: ConnectionUrl | undefined;
  readonly problems: readonly ConfigProblem[];
}

const NOT_SHOWN = 'the value is not shown because it may contain a password';

/**
 * Parses `postgres://user:password@host:port/dbname?param=value` (scheme `postgres` or
 * `postgresql`). The URL's parts are read with `pg-connection-string`, but only after the query
 * string is taken off: query parameters are read here, so that none of that package's
 * node-postgres TLS meanings (`sslmode=require` verifying certificates) or side effects (reading
 * certificate files, warnings) apply. A parameter given twice, or one not in `known`, is a
 * problem. No problem message contains the URL.
 */
export function parseConnectionUrl(source: string, text: string, known: ReadonlySet<string>): ParsedConnectionUrl {
  if (!/^postgres(?:ql)?:\/\//i.test(text.trim())) {
    return unparseable(source, `must start with postgres:// or postgresql://; ${NOT_SHOWN}`);
  }
  const { base, query } = splitQuery(text.trim());
  const params = new Map<string, string>();
  try {
    const parts = parse(base);
    setIfPresent(params, 'host', parts.host);
    setIfPresent(params, 'port', parts.port);
    setIfPresent(params, 'user', parts.user);
    setIfPresent(params, 'password', parts.password);
    setIfPresent(params, 'dbname', parts.database);
  } catch {
    return unparseable(source, `is not a valid connection URL (postgres://user:password@host:port/dbname?param=value); ${NOT_SHOWN}`);
  }
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(query)) {
    const field = `${source}:${name}`;
    if (!known.has(name)) {
      problems.push({ field, message: `unknown parameter; supported: ${[...known].join(', ')}` });
    } else if (seen.has(name)) {
      problems.push({ field, message: 'is given more than once' });
    } else {
      seen.add(name);
      if (value === '') params.delete(name);
      else params.set(name, value);
    }
  }
  return { url: { source, params }, problems };
}

function splitQuery(text: string): { base: string; query: string } {
  const withoutFragment = text.split('#', 1)[0] ?? '';
  const at = withoutFragment.indexOf('?');
  return at < 0 ? { base: withoutFragment, query: '' } : { base: withoutFragment.slice(0, at), query: withoutFragment.slice(at + 1) };
}

function setIfPresent(params: Map<string, string>, key: string, value: unknown): void {
  if (typeof value === 'string' && value !== '') params.set(key, value);
}

function unparseable(source: string, message: string): ParsedConnectionUrl {
  return { url: undefined, problems: [{ field: source, message }] };
}
