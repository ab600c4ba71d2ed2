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
const EMPTY_PAIR = 'has an empty query parameter ("&&", or "&" right after "?"); write %26 for "&" in a value';

/**
 * libpq's connection keywords (PostgreSQL 17), plus `ssl` (libpq reads `ssl=true` in a URL as
 * `sslmode=require`). An unknown query parameter is named in a problem only when it is one of
 * these or one we support: any other name may be the tail of a password holding a raw `&`
 * (`?password=ab&topsecret=xyz`), and is not shown.
 */
const LIBPQ_KEYWORDS: ReadonlySet<string> = new Set([
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'passfile',
  'channel_binding',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'replication',
  'gssencmode',
  'sslmode',
  'requiressl',
  'sslcompression',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslcertmode',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'krbsrvname',
  'gsslib',
  'gssdelegation',
  'service',
  'target_session_attrs',
  'load_balance_hosts',
  'sslnegotiation',
  'require_auth',
  'ssl',
]);

/**
 * Parses `postgres://user:password@host:port/dbname?param=value` (scheme `postgres` or
 * `postgresql`). The URL's parts are read with `pg-connection-string`, but only after the query
 * string is taken off: query parameters are read here, so that none of that package's
 * node-postgres TLS meanings (`sslmode=require` verifying certificates) or side effects (reading
 * certificate files, warnings) apply. A parameter given twice, or one not in `known`, is a
 * problem. No problem message contains the URL, a value, or the name of an unknown parameter that
 * is not a libpq keyword (see {@link LIBPQ_KEYWORDS}).
 *
 * The query string is read as libpq reads it (see {@link parseQuery}): percent-escapes only, so
 * `+` is a plus sign, not a space (`?password=a+b` is `a+b`, as is `?password=a%2Bb`).
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
  const nameable = (name: string): boolean => known.has(name) || LIBPQ_KEYWORDS.has(name);
  for (const [name, value] of parseQuery(source, query, nameable, problems)) {
    if (!known.has(name)) {
      problems.push(
        nameable(name)
          ? { field: `${source}:${name}`, message: `unknown parameter; supported: ${[...known].join(', ')}` }
          : {
              field: source,
              message:
                'has an unknown parameter (name not shown: it may be part of a value; write & in values as %26); ' +
                `supported: ${[...known].join(', ')}`,
            },
      );
    } else if (seen.has(name)) {
      problems.push({ field: `${source}:${name}`, message: 'is given more than once' });
    } else {
      seen.add(name);
      if (value === '') params.delete(name);
      else params.set(name, value);
    }
  }
  return { url: { source, params }, problems };
}

/**
 * The `name=value` pairs of a query string, as libpq reads them: split on `&`, each pair holding
 * exactly one `=`; name and value percent-decoded (`%XX`, UTF-8) and nothing else — unlike
 * `URLSearchParams`, which reads `+` as a space and would turn `?password=a+b` into `a b`. As in
 * libpq, a single trailing `&` is allowed, but an empty pair (`&&`, `?&`), a pair without `=`, a
 * pair with a second raw `=` (write `%3D`), a malformed escape (`%zz`, a lone `%`, bytes that are
 * not UTF-8) and `%00` are problems, recorded in `problems`; the pair is dropped. No message
 * contains a value, which may be the password; a pair is named only when `nameable` accepts its
 * name (any other name may be the tail of a password holding a raw `&`).
 */
function parseQuery(
  source: string,
  query: string,
  nameable: (name: string) => boolean,
  problems: ConfigProblem[],
): [name: string, value: string][] {
  const pairs: [string, string][] = [];
  if (query === '') return pairs;
  const segments = query.split('&');
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') {
      problems.push({ field: source, message: EMPTY_PAIR });
      continue;
    }
    const [rawName = '', ...rawValues] = segment.split('=');
    const name = decodeComponent(rawName);
    if (name === undefined) {
      problems.push({ field: source, message: `a query parameter name is not validly percent-encoded; ${NOT_SHOWN}` });
      continue;
    }
    const named = nameable(name);
    const field = named ? `${source}:${name}` : source;
    if (rawValues.length === 0) {
      problems.push(
        named
          ? { field, message: 'has no value: write name=value' }
          : { field, message: `a query parameter has no "=" (write name=value, and %26 for "&" in a value); ${NOT_SHOWN}` },
      );
      continue;
    }
    if (rawValues.length > 1) {
      const what = named ? 'has' : 'a query parameter has';
      problems.push({ field, message: `${what} more than one "=" (write %3D for "=" and %26 for "&" in a value); ${NOT_SHOWN}` });
      continue;
    }
    const value = decodeComponent(rawValues[0] ?? '');
    if (value === undefined) {
      const what = named ? 'is' : 'a query parameter is';
      problems.push({
        field,
        message: `${what} not validly percent-encoded (write %XX with two hex digits, %25 for "%"; %00 is not allowed); ${NOT_SHOWN}`,
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
