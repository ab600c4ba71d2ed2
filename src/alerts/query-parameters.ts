import type { AlertStatus, TimeWindow } from './alert-types.js';
import { QueryParameterError, quoteValue } from './query-parameter-error.js';

/** Longest string filter accepted (label values, names, fingerprints): bounds the statement. */
export const MAX_FILTER_LENGTH = 4096;

function describe(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (value instanceof Date) return 'an invalid Date';
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

/** `value` as an integer within `[min, max]`, `fallback` when `undefined`. */
export function integerParameter(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new QueryParameterError(name, `must be an integer from ${min} to ${max}; got ${describe(value)}`);
  }
  return value;
}

/** `value` as a valid `Date`. */
export function dateParameter(name: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new QueryParameterError(name, `must be a valid Date; got ${describe(value)}`);
  }
  return value;
}

/** `value` as a non-empty string PostgreSQL can hold (no NUL), of bounded length. */
export function textParameter(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new QueryParameterError(name, `must be a string; got ${describe(value)}`);
  if (value.length === 0) throw new QueryParameterError(name, 'must not be empty');
  return storableText(name, value);
}

/** `value` (a string, possibly empty) if PostgreSQL can hold it: no NUL character, bounded length. */
export function storableText(name: string, value: string): string {
  if (value.includes('\u0000')) throw new QueryParameterError(name, 'must not contain a NUL character (\\u0000)');
  if (value.length > MAX_FILTER_LENGTH) throw new QueryParameterError(name, `must be at most ${MAX_FILTER_LENGTH} characters; got ${value.length}`);
  return value;
}

/** `value` as an alert status. */
export function statusParameter(name: string, value: unknown): AlertStatus {
  if (value === 'firing' || value === 'resolved') return value;
  throw new QueryParameterError(name, `must be "firing" or "resolved"; got ${describe(value)}`);
}

/** A time window with valid dates and `from` strictly before `to` (never zero-length). */
export function windowParameter(name: string, window: unknown): TimeWindow {
  if (typeof window !== 'object' || window === null) throw new QueryParameterError(name, `must be an object { from, to }; got ${describe(window)}`);
  const { from, to } = window as Partial<TimeWindow>;
  const checkedFrom = dateParameter(`${name}.from`, from);
  const checkedTo = dateParameter(`${name}.to`, to);
  if (checkedFrom.getTime() >= checkedTo.getTime()) {
    throw new QueryParameterError(name, `from must be before to (a window of ${checkedTo.getTime() - checkedFrom.getTime()} ms is empty)`);
  }
  return { from: checkedFrom, to: checkedTo };
}
