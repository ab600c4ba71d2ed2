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
 *
 * The query string is decoded as libpq decodes it (see {@link parseQuery}): percent-escapes only,
 * so `+` is a plus sign, not a space (`?password=a+b` is `a+b`, as is `?password=a%2Bb`).
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
  for (const [name, value] of parseQuery(source, query, known, problems)) {
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

/**
 * The `name=value` pairs of a query string, as libpq reads them: split on `&`, then on the first
 * `=`; name and value percent-decoded (`%XX`, UTF-8) and nothing else — unlike
 * `URLSearchParams`, which reads `+` as a space and would turn `?password=a+b` into `a b`. Empty
 * segments (`&&`, a trailing `&`) are skipped. A segment without `=`, a malformed escape (`%zz`, a
 * lone `%`, bytes that are not UTF-8) and `%00` (libpq forbids it) are recorded in `problems` and
 * the segment is dropped; no message contains a value, which may be the password (nor a segment
 * without `=` unless it is a `known` name: it may be the tail of a password holding a raw `&`).
 */
function parseQuery(source: string, query: string, known: ReadonlySet<string>, problems: ConfigProblem[]): [name: string, value: string][] {
  const pairs: [string, string][] = [];
  for (const segment of query.split('&')) {
    if (segment === '') continue;
    const equals = segment.indexOf('=');
    const name = decodeComponent(equals < 0 ? segment : segment.slice(0, equals));
    if (name === undefined) {
      problems.push({ field: source, message: `a query parameter name is not validly percent-encoded; ${NOT_SHOWN}` });
      continue;
    }
    if (equals < 0) {
      // Not named unless it is a known parameter: a lone word may be the end of a password with an unescaped `&`.
      problems.push(
        known.has(name)
          ? { field: `${source}:${name}`, message: 'has no value: write name=value' }
          : { field: source, message: `a query parameter has no "=" (write name=value, and %26 for "&" in a value); ${NOT_SHOWN}` },
      );
      continue;
    }
    const value = decodeComponent(segment.slice(equals + 1));
    if (value === undefined) {
      problems.push({
        field: `${source}:${name}`,
        message: `is not validly percent-encoded (write %XX with two hex digits, %25 for "%"; %00 is not allowed); ${NOT_SHOWN}`,
      });
      continue;
    }
    pairs.push([name, value]);
  }
  return pairs;
}

/** Percent-decodes one query component; `undefined` when an escape is malformed or decodes to NUL. */
function decodeComponent(text: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    return undefined;
  }
  return decoded.includes('\0') ? undefined : decoded;
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
