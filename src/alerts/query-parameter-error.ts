import { AlertHistoryDbError } from '../errors/alert-history-db-error.js';

/** Longest piece of a caller's value a {@link QueryParameterError} message quotes. */
const MAX_QUOTED = 60;

/**
 * Quotes a caller's value for an error message: JSON-quoted, cut to a bounded length (never the
 * whole of a long value).
 */
export function quoteValue(value: string): string {
  const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return JSON.stringify(shown);
}

/**
 * A parameter of an alert history query is invalid (a malformed `cursor`, a `limit` out of range,
 * an invalid regular expression in a label matcher, an empty time window…). Nothing was run, or
 * what ran was read-only. An HTTP service answers it with 400 and {@link parameter}.
 */
export class QueryParameterError extends AlertHistoryDbError {
  readonly kind = 'data' as const;
  /** The parameter, as the caller named it: `cursor`, `limit`, `labels[1]`, `window`, `bucketMs`… */
  readonly parameter: string;
  /** What is wrong with it (without the whole value). */
  readonly reason: string;

  /**
   * @param parameter the parameter's name (`limit`, `labels[0]`…)
   * @param reason what is wrong, e.g. `must be an integer from 1 to 1000`
   * @param cause the underlying error, if any (e.g. the server's answer to an invalid regex)
   */
  constructor(parameter: string, reason: string, cause?: unknown) {
    super(`invalid query parameter ${parameter}: ${reason}`, { code: 'INVALID_QUERY_PARAMETER', retryable: false, cause });
    this.parameter = parameter;
    this.reason = reason;
  }
}
