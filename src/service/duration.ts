/** Milliseconds per unit of a query duration. */
const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
});

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const TERM = /(\d+)(ms|s|m|h|d|w)/g;

/** The longest duration of a query window: 400 days. */
export const MAX_QUERY_DURATION_MS = 400 * UNIT_MS.d!;

/**
 * Parses a query duration, Prometheus style: integers with units `ms`, `s`, `m`, `h`, `d`, `w`,
 * one or several (`15m`, `24h`, `7d`, `1h30m`). Returns milliseconds, or `undefined` when `text`
 * is not such a duration, is zero, or exceeds {@link MAX_QUERY_DURATION_MS}.
 */
export function parseQueryDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(TERM)) total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  return Number.isFinite(total) && total > 0 && total <= MAX_QUERY_DURATION_MS ? total : undefined;
}
