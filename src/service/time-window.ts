import type { TimeWindow } from '../alerts/alert-types.js';
import { QueryParameterError } from '../alerts/query-parameter-error.js';
import type { QueryReader } from './query-reader.js';

/** Default `window` of the aggregate endpoints: 24 hours. */
export const DEFAULT_WINDOW_MS = 24 * 3_600_000;

/**
 * The time range of an aggregate endpoint from `window`, `from` and `to`:
 * - `from` (and optionally `to`, default now): that range; `window` must then be absent;
 * - otherwise `window` (default 24h) ending at `to` (default now).
 *
 * @throws QueryParameterError naming the parameter at fault.
 */
export function readTimeWindow(query: QueryReader, now: Date): TimeWindow {
  const window = query.duration('window');
  const from = query.time('from');
  const to = query.time('to') ?? now;
  if (from !== undefined) {
    if (window !== undefined) throw new QueryParameterError('window', 'give either window or from (with to), not both');
    if (from.getTime() >= to.getTime()) throw new QueryParameterError('from', 'must be before to');
    return Object.freeze({ from, to });
  }
  return Object.freeze({ from: new Date(to.getTime() - (window ?? DEFAULT_WINDOW_MS)), to });
}
