import type { DurationInput } from './postgres-config.js';
import { quote } from './quote.js';

/**
 * The longest duration accepted, in milliseconds: 2^31 − 1 (about 24.8 days). Node.js timers
 * cannot wait longer — a longer `setTimeout` fires after 1 ms instead — so a larger value
 * would silently turn into "immediately".
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** The outcome of {@link parseDuration}: milliseconds, or why the input is not a duration. */
export type DurationParseResult =
  | {
      /** The input is a valid duration. */
      readonly ok: true;
      /** The duration in whole milliseconds, 0 to {@link MAX_DURATION_MS}. */
      readonly ms: number;
    }
  | {
      /** The input is not a valid duration. */
      readonly ok: false;
      /** Why, in a sentence fit for an error message. */
      readonly problem: string;
    };

const NANOS_PER_UNIT: Readonly<Record<string, bigint>> = Object.freeze({
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
});
const NANOS_PER_MS = 1_000_000n;
const TERM = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;
const HINT = 'use milliseconds (1500) or numbers with units, as Go writes durations: 250ms, 30s, 5m, 1h, 1.5s, 1m30s';

/**
 * Parses a duration into whole milliseconds.
 *
 * Accepted: a non-negative integer number (milliseconds); a string of digits (milliseconds);
 * or a sequence of decimal numbers each followed by a unit, as Go's `time.ParseDuration`
 * reads them (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`): `"250ms"`, `"30s"`, `"1.5s"`, `"1m30s"`.
 * Rejected, with a reason: negative values, fractions of a millisecond, values above
 * {@link MAX_DURATION_MS}, and anything else.
 */
export function parseDuration(input: DurationInput): DurationParseResult {
  if (typeof input === 'number') return fromNumber(input);
  const text = input.trim();
  if (/^\d+$/.test(text)) return withinRange(BigInt(text) * NANOS_PER_MS);
  if (text.startsWith('-')) return fail('must not be negative');
  const nanos = sumOfTerms(text);
  if (nanos === undefined) return fail(`${quote(input)} is not a duration: ${HINT}`);
  return withinRange(nanos);
}

function fromNumber(value: number): DurationParseResult {
  if (!Number.isFinite(value)) return fail(`${String(value)} is not a duration: ${HINT}`);
  if (value < 0) return fail('must not be negative');
  if (!Number.isInteger(value)) return fail('must be a whole number of milliseconds');
  return value > MAX_DURATION_MS ? tooLong() : { ok: true, ms: value };
}

/** Sum of `<number><unit>` terms in nanoseconds; `undefined` unless the whole text is such terms. */
function sumOfTerms(text: string): bigint | undefined {
  if (text === '') return undefined;
  let total = 0n;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const match = TERM.exec(text);
    if (match === null) return undefined;
    const whole = match[1] ?? '';
    const fraction = match[2] ?? '';
    const unit = NANOS_PER_UNIT[match[3] ?? ''];
    if (unit === undefined || (whole === '' && fraction === '')) return undefined;
    total += BigInt(whole || '0') * unit + (BigInt(fraction || '0') * unit) / 10n ** BigInt(fraction.length);
  }
  return total;
}

function withinRange(nanos: bigint): DurationParseResult {
  if (nanos % NANOS_PER_MS !== 0n) return fail('must be a whole number of milliseconds');
  const ms = nanos / NANOS_PER_MS;
  return ms > BigInt(MAX_DURATION_MS) ? tooLong() : { ok: true, ms: Number(ms) };
}

function tooLong(): DurationParseResult {
  return fail(`must be at most ${MAX_DURATION_MS} ms (about 24.8 days), the longest a Node.js timer can wait`);
}

function fail(problem: string): DurationParseResult {
  return { ok: false, problem };
}
