/**
 * The logging surface the library writes to. A winston `Logger` satisfies it, and so does
 * `console`-like object with these four methods. Messages are constant strings; details go in
 * `meta`, which never holds secrets or parameter values.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** A logger that discards everything; the default when none is given. */
export const silentLogger: Logger = Object.freeze({
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
});
