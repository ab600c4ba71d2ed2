/**
 * Keeps the values of one metric label bounded: the first `limit` distinct values pass through,
 * later new ones become `(other)` (parenthesised, so it cannot be taken for a real table). Label values come from query trees (table names), which a
 * program can generate (partitions, tenants' schemas): without a bound each one would be a new
 * time series.
 */
export class LabelLimiter {
  readonly #limit: number;
  readonly #seen = new Set<string>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** `value` if it is known, or `(none)`, or there is still room; else `(other)`. */
  value(value: string): string {
    if (value === '(none)' || this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#limit) return '(other)';
    this.#seen.add(value);
    return value;
  }
}
