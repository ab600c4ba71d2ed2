/**
 * How a failed operation is tried again: exponential backoff with full jitter (each delay drawn
 * uniformly from `[0, min(maxDelayMs, initialDelayMs · 2^(retry-1)))`), a cap on each delay, and a
 * budget of attempts. What may be retried at all is decided elsewhere (see `docs/reliability.md`):
 * never a write whose outcome is unknown.
 */
export interface RetryOptions {
  /** Attempts in all, the first included; `1` turns retrying off. Default 3. */
  readonly maxAttempts?: number;
  /** Upper bound of the first delay, in milliseconds. Default 50. */
  readonly initialDelayMs?: number;
  /** Cap of any single delay, in milliseconds. Default 2000. */
  readonly maxDelayMs?: number;
}

/** {@link RetryOptions} with every default applied, validated and frozen. */
export interface ResolvedRetryOptions {
  /** {@link RetryOptions.maxAttempts}: attempts in all, at least 1. */
  readonly maxAttempts: number;
  /** {@link RetryOptions.initialDelayMs}: upper bound of the first delay, in milliseconds. */
  readonly initialDelayMs: number;
  /** {@link RetryOptions.maxDelayMs}: cap of any single delay, in milliseconds. */
  readonly maxDelayMs: number;
}

/** The defaults of {@link RetryOptions}. */
export const RETRY_DEFAULTS: ResolvedRetryOptions = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 50,
  maxDelayMs: 2000,
});

/** The longest delay a Node.js timer accepts; longer ones fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

function check(field: string, value: unknown, min: number, problems: string[], max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(max === Number.MAX_SAFE_INTEGER ? `${field} must be an integer >= ${min}` : `${field} must be an integer from ${min} to ${max}`);
  }
}

/**
 * Applies the defaults and validates; `false` means no retries (`maxAttempts: 1`). Throws a
 * `TypeError` naming every invalid field, e.g. `retry.maxAttempts must be an integer >= 1`.
 *
 * @param label prefix of the field names in errors, e.g. `retry` or `transaction retries`
 */
export function resolveRetryOptions(options: RetryOptions | false | undefined, label = 'retry'): ResolvedRetryOptions {
  if (options === false) return Object.freeze({ ...RETRY_DEFAULTS, maxAttempts: 1 });
  if (options === undefined) return RETRY_DEFAULTS;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${label} must be an object or false`);
  const problems: string[] = [];
  check(`${label}.maxAttempts`, options.maxAttempts, 1, problems);
  check(`${label}.initialDelayMs`, options.initialDelayMs, 0, problems, MAX_DELAY_MS);
  check(`${label}.maxDelayMs`, options.maxDelayMs, 0, problems, MAX_DELAY_MS);
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  const resolved = { ...RETRY_DEFAULTS };
  for (const key of ['maxAttempts', 'initialDelayMs', 'maxDelayMs'] as const) {
    const value = options[key];
    if (value !== undefined) resolved[key] = value;
  }
  if (resolved.maxDelayMs < resolved.initialDelayMs) {
    throw new TypeError(`${label}.maxDelayMs (${resolved.maxDelayMs}) must not be below ${label}.initialDelayMs (${resolved.initialDelayMs})`);
  }
  return Object.freeze(resolved);
}
