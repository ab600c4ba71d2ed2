import { parseDuration } from './duration.js';
import { SSL_MODES, type SslMode } from './postgres-config.js';
import { quote } from './quote.js';

/** A parsed setting, or why the raw value is not acceptable (the message never holds a secret). */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** An integer from a number or a string of digits (optionally signed); `undefined` if it is not one. */
function toInteger(raw: number | string): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  const text = raw.trim();
  return /^[+-]?\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** A TCP port: an integer from 1 to 65535. */
export function parsePort(raw: number | string): Parsed<number> {
  const port = toInteger(raw);
  return port !== undefined && port >= 1 && port <= 65535
    ? ok(port)
    : fail(`must be an integer from 1 to 65535, got ${quote(raw)}`);
}

/** A whole count of at least `min` (connections). */
export function parseCount(raw: number | string, min: number): Parsed<number> {
  const count = toInteger(raw);
  if (count === undefined) return fail(`must be an integer, got ${quote(raw)}`);
  return count >= min ? ok(count) : fail(`must be at least ${min}, got ${count}`);
}

/** A duration (see {@link parseDuration}) of at least `minMs` milliseconds. */
export function parseDurationMs(raw: number | string, minMs = 0): Parsed<number> {
  const parsed = parseDuration(raw);
  if (!parsed.ok) return fail(parsed.problem);
  return parsed.ms >= minMs ? ok(parsed.ms) : fail(`must be at least ${minMs} ms (0 is not allowed here)`);
}

/** libpq's `connect_timeout`: whole seconds, 0 meaning "no limit". Returned in milliseconds. */
export function parseTimeoutSeconds(raw: number | string): Parsed<number> {
  const seconds = toInteger(raw);
  if (seconds === undefined || seconds < 0) {
    return fail(`must be a whole number of seconds (libpq's unit), 0 or more, got ${quote(raw)}`);
  }
  return parseDurationMs(seconds * 1000);
}

/** An `sslmode` value, spelled as libpq spells it. */
export function parseSslMode(raw: string): Parsed<SslMode> {
  const mode = SSL_MODES.find((candidate) => candidate === raw.trim());
  return mode !== undefined ? ok(mode) : fail(`unknown sslmode ${quote(raw)}; valid values: ${SSL_MODES.join(', ')}`);
}

/** A single host name, IP address or Unix socket directory. */
export function parseHost(raw: string): Parsed<string> {
  const host = raw.trim();
  if (host === '') return fail('must not be empty');
  if (host.includes(',')) return fail(`lists several hosts (${quote(raw)}); only one host is supported`);
  return ok(host);
}

/** A name that must not be empty (user, database). */
export function parseName(raw: string): Parsed<string> {
  return raw === '' ? fail('must not be empty') : ok(raw);
}
