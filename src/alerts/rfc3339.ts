/**
 * RFC 3339 times as Alertmanager writes them (Go's `time.RFC3339Nano`): parsed exactly, to the
 * nanosecond, without `Date.parse` (which accepts much more, and keeps milliseconds only).
 */

/** An RFC 3339 time, parsed. */
export interface ParsedTime {
  /** Nanoseconds since 1970-01-01T00:00:00Z (exact: Alertmanager sends nanoseconds). */
  readonly epochNanos: bigint;
  /** Milliseconds since the epoch, rounded down (what a `Date` holds). */
  readonly epochMs: number;
  /** Whether it is Go's zero time, `0001-01-01T00:00:00Z` (in any offset). */
  readonly isGoZeroTime: boolean;
}

// date, `T`, time, optional 1 to 9 fraction digits, `Z` or an offset; `t` and `z` as RFC 3339 allows
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const NANOS_PER_MS = 1_000_000n;
/** 0001-01-01T00:00:00Z, Go's zero time and the earliest instant accepted. */
const GO_ZERO_MS = -62_135_596_800_000;
/** 10000-01-01T00:00:00Z: instants from here on are refused (PostgreSQL and `Date` both hold them, but no alert does). */
const END_MS = 253_402_300_800_000;
const GO_ZERO_NANOS = BigInt(GO_ZERO_MS) * NANOS_PER_MS;
/**
 * Instants from here on are refused too: PostgreSQL rounds to the microsecond (half to even), so
 * `9999-12-31T23:59:59.9999995Z` would be stored as `10000-01-01`, a year no RFC 3339 text (nor a
 * history cursor) can hold.
 */
const END_NANOS = BigInt(END_MS) * NANOS_PER_MS - 500n;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses an RFC 3339 date-time (`2026-11-27T00:22:20.869610604Z`, `2026-11-27T01:22:20+01:00`):
 * up to nanoseconds, `Z` or a numeric offset. Refuses (returns `undefined`) anything else: other
 * ISO 8601 forms, out-of-range fields (month 13, February 30, second 60: Go never writes a leap
 * second), and instants outside years 0001 to 9999 UTC (also after PostgreSQL's rounding to the
 * microsecond).
 */
export function parseRfc3339(text: string): ParsedTime | undefined {
  const match = RFC_3339.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zulu === undefined) {
    const offsetHours = Number(oh);
    const offsetMins = Number(om);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0 to 99 to 1900 to 1999
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const wholeSecondsMs = date.getTime() - offsetMinutes * 60_000;
  if (wholeSecondsMs < GO_ZERO_MS || wholeSecondsMs >= END_MS) return undefined;
  const fractionNanos = BigInt((fraction ?? '').padEnd(9, '0'));
  const epochNanos = BigInt(wholeSecondsMs) * NANOS_PER_MS + fractionNanos;
  if (epochNanos >= END_NANOS) return undefined;
  return {
    epochNanos,
    epochMs: wholeSecondsMs + Number(fractionNanos / NANOS_PER_MS),
    isGoZeroTime: epochNanos === GO_ZERO_NANOS,
  };
}
