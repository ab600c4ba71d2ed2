import { QueryParameterError, quoteValue } from '../alerts/query-parameter-error.js';
import { parseQueryDuration } from './duration.js';
import { parseRfc3339 } from './rfc3339.js';

/** A parsed query string, as fastify hands it over: repeated parameters become arrays. */
export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Bounds of {@link QueryReader.integer}. */
export interface IntegerBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Reads one endpoint's query parameters, each problem as a {@link QueryParameterError} naming the
 * parameter: an unknown parameter, a parameter given twice that takes one value, an empty value,
 * a value of the wrong form.
 */
export class QueryReader {
  readonly #query: RawQuery;

  /** @throws QueryParameterError for the first parameter not in `allowed`. */
  constructor(query: unknown, allowed: readonly string[]) {
    this.#query = (typeof query === 'object' && query !== null ? query : {}) as RawQuery;
    for (const name of Object.keys(this.#query)) {
      if (!allowed.includes(name)) {
        const known = allowed.length === 0 ? 'this endpoint takes no parameters' : `known parameters: ${allowed.join(', ')}`;
        throw new QueryParameterError(name, `unknown parameter (${known})`);
      }
    }
  }

  /** Whether the parameter was given. */
  has(name: string): boolean {
    return this.#query[name] !== undefined;
  }

  /** The one value of `name`, or `undefined`; an empty value or a repeated parameter is refused. */
  string(name: string): string | undefined {
    const raw = this.#query[name];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string') throw new QueryParameterError(name, 'must be given once');
    if (raw === '') throw new QueryParameterError(name, 'must not be empty');
    return raw;
  }

  /** Every value of a repeatable parameter (none: an empty list); empty values are refused. */
  list(name: string): readonly string[] {
    const raw = this.#query[name];
    const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
    if (values.some((value) => value === '')) throw new QueryParameterError(name, 'must not be empty');
    return values;
  }

  /** One of `allowed`, or `undefined`. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw new QueryParameterError(name, `must be one of ${allowed.join(', ')} (got ${quoteValue(value)})`);
    return value as T;
  }

  /** A decimal integer within `bounds`, or `fallback`. */
  integer(name: string, bounds: IntegerBounds, fallback: number): number {
    const value = this.string(name);
    if (value === undefined) return fallback;
    const number = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
    if (!(number >= bounds.min && number <= bounds.max)) {
      throw new QueryParameterError(name, `must be an integer from ${bounds.min} to ${bounds.max} (got ${quoteValue(value)})`);
    }
    return number;
  }

  /** An RFC 3339 date-time, or `undefined`. */
  time(name: string): Date | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const date = parseRfc3339(value);
    if (date === undefined) throw new QueryParameterError(name, `must be an RFC 3339 date-time such as 2026-11-27T00:00:00Z (got ${quoteValue(value)})`);
    return date;
  }

  /** A duration such as `15m`, `24h`, `7d` in milliseconds, or `undefined`. */
  duration(name: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const ms = parseQueryDuration(value);
    if (ms === undefined) {
      throw new QueryParameterError(name, `must be a duration such as 15m, 24h or 7d (units ms, s, m, h, d, w; above 0, at most 400d) (got ${quoteValue(value)})`);
    }
    return ms;
  }
}
