import { QueryParameterError } from './query-parameter-error.js';
import { parseRfc3339 } from './rfc3339.js';

/**
 * The position of a history page: the keyset `(starts_at, id)` of the last event it held.
 * `startsAt` is exact to the microsecond (what `timestamptz` stores), in UTC, as PostgreSQL reads
 * it back (`2026-11-27T00:22:20.869611Z`): a `Date` (milliseconds) would skip or repeat events
 * whose `starts_at` differ below the millisecond.
 */
export interface HistoryCursor {
  /** `starts_at`, `YYYY-MM-DDTHH:MI:SS.ffffffZ`. */
  readonly startsAt: string;
  /** `alert_events.id`, decimal. */
  readonly id: string;
}

/** Version of the cursor format, inside the cursor. */
const VERSION = 1;
/** Longest cursor accepted (a real one is about 80 characters). */
const MAX_CURSOR_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UTC_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const BIGINT_ID = /^[1-9]\d{0,18}$/;
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** The opaque text of a cursor: base64url of a small JSON document. */
export function encodeHistoryCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify({ v: VERSION, s: cursor.startsAt, i: cursor.id }), 'utf8').toString('base64url');
}

function malformed(reason: string): QueryParameterError {
  return new QueryParameterError('cursor', `malformed cursor (${reason}); pass the nextCursor of the previous page as it is`);
}

/**
 * Reads a cursor made by {@link encodeHistoryCursor}.
 * @throws QueryParameterError naming `cursor` for anything else (never echoing it).
 */
export function decodeHistoryCursor(text: unknown): HistoryCursor {
  if (typeof text !== 'string') throw malformed('not a string');
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !BASE64URL.test(text)) throw malformed('not base64url text of a cursor');
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw malformed('not a cursor');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw malformed('not a cursor');
  const { v, s, i } = document as { v?: unknown; s?: unknown; i?: unknown };
  if (v !== VERSION) throw malformed('unknown version');
  if (typeof s !== 'string' || !UTC_MICROS.test(s) || parseRfc3339(s) === undefined) throw malformed('invalid time');
  if (typeof i !== 'string' || !BIGINT_ID.test(i) || BigInt(i) > MAX_BIGINT) throw malformed('invalid id');
  const cursor = { startsAt: s, id: i };
  // only the canonical form: anything else was not made by encodeHistoryCursor
  if (encodeHistoryCursor(cursor) !== text) throw malformed('not in canonical form');
  return cursor;
}
