/**
 * The logging surface the library writes to. A winston `Logger` satisfies it, and so does
 * `console`-like object with these four methods. Messages are constant strings; details go in
 * `meta`, which never holds secrets or parameter values.
 */
export interface Logger {
  /** Something failed and was not recovered: a failed query, an open circuit breaker, a lost audit record. */
  error(message: string, meta?: Record<string, unknown>): unknown;
  /** Something went wrong and was handled, or needs attention: a suspected leak, a closed broken connection, worse health. */
  warn(message: string, meta?: Record<string, unknown>): unknown;
  /** A notable, expected event: a migration applied, health improved. */
  info(message: string, meta?: Record<string, unknown>): unknown;
  /** Connection-level detail: connections opened and closed, TLS fallbacks, cancellations. */
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** A logger that discards everything; the default when none is given. */
export const silentLogger: Logger = Object.freeze({
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
});
