import { parseRfc3339 as parseAlertTime } from '../alerts/rfc3339.js';

/** A space where an offset's `+` belongs: an unencoded `+` in a query string arrives as a space. */
const SPACE_OFFSET = / (\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 date-time of a query parameter (`2026-11-27T00:22:20Z`,
 * `2026-11-27T02:22:20.869610604+02:00`) with the same rules as the webhook's times
 * (`src/alerts/rfc3339.ts`: exact fields, years 0001 to 9999), fractions beyond milliseconds cut.
 * A space in place of the offset's `+` is read as `+`. Returns `undefined` for anything else.
 */
export function parseRfc3339(text: string): Date | undefined {
  const parsed = parseAlertTime(text.replace(SPACE_OFFSET, '+$1'));
  return parsed === undefined ? undefined : new Date(parsed.epochMs);
}
