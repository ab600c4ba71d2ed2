/**
 * Settings of multiplexed execution (`createDatabase(config, { multiplex })`): single statements
 * outside transactions share a few pooled connections in node-postgres's pipeline mode.
 * See docs/multiplexing.md.
 */
export interface MultiplexOptions {
  /**
   * Shared connections, opened from the pool as they are needed (they count against `maxConns`,
   * so keep some for transactions, streams and `db.connection()`). A positive integer, at most
   * `maxConns`. Default: 2, or 1 on a pool of 2 or fewer connections. Each shared connection is
   * one server backend running its statements one after another: more of them use more server
   * cores, fewer put more statements into each socket write (2 was fastest on the benchmark's
   * 2-core machine; raise it towards the cores the server can give this instance).
   */
  readonly connections?: number;
  /**
   * Statements in flight on one shared connection at most; a statement that finds every shared
   * connection at this depth waits for one to drain. A positive integer. Default 16.
   */
  readonly maxInFlight?: number;
  /**
   * How long one shared connection is kept before it goes back to the pool (once its statements
   * are done) and another takes its place, so that the pool's lifetime, health and leak rules apply
   * to shared connections as to any other. Positive, in milliseconds; at most half the pool's
   * `leakDetectionThresholdMs` when that is on. Default 30 000.
   */
  readonly rotateAfterMs?: number;
  /**
   * A statement that keeps a shared connection longer than this (its own service time, not its
   * wait behind others) holds up everything pipelined behind it: its SQL text is then run on
   * exclusive connections (until an exclusive run of it is fast again), and a shared connection
   * whose head statement has run this long takes no new statements while another can. Positive,
   * in milliseconds. Default 100.
   */
  readonly slowStatementMs?: number;
}

/** {@link MultiplexOptions} with every default applied. */
export interface ResolvedMultiplexOptions {
  readonly connections: number;
  readonly maxInFlight: number;
  readonly rotateAfterMs: number;
  readonly slowStatementMs: number;
}

/** Default {@link MultiplexOptions.maxInFlight}. */
export const DEFAULT_MULTIPLEX_MAX_IN_FLIGHT = 16;
/** Default {@link MultiplexOptions.connections} (1 on a pool of 2 or fewer connections). */
export const DEFAULT_MULTIPLEX_CONNECTIONS = 2;
/** Default {@link MultiplexOptions.rotateAfterMs}. */
export const DEFAULT_MULTIPLEX_ROTATE_AFTER_MS = 30_000;
/** Default {@link MultiplexOptions.slowStatementMs}. */
export const DEFAULT_MULTIPLEX_SLOW_STATEMENT_MS = 100;

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`multiplex.${field} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function positiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`multiplex.${field} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/**
 * Applies the defaults and checks the values against the pool's size and leak threshold.
 *
 * @throws RangeError naming the field when a value is out of range
 * @throws TypeError when `options` is not an object
 */
export function resolveMultiplexOptions(options: MultiplexOptions, maxConns: number, leakDetectionThresholdMs: number): ResolvedMultiplexOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('multiplex must be an options object, true, or false');
  const connections =
    options.connections === undefined ? Math.max(1, Math.min(DEFAULT_MULTIPLEX_CONNECTIONS, maxConns - 1)) : positiveInteger(options.connections, 'connections');
  if (connections > maxConns) {
    throw new RangeError(`multiplex.connections (${connections}) must not exceed the pool's maxConns (${maxConns})`);
  }
  const maxInFlight = options.maxInFlight === undefined ? DEFAULT_MULTIPLEX_MAX_IN_FLIGHT : positiveInteger(options.maxInFlight, 'maxInFlight');
  const limit = leakDetectionThresholdMs > 0 ? Math.max(1, Math.floor(leakDetectionThresholdMs / 2)) : Number.POSITIVE_INFINITY;
  const rotateAfterMs = options.rotateAfterMs === undefined ? Math.min(DEFAULT_MULTIPLEX_ROTATE_AFTER_MS, limit) : positiveInteger(options.rotateAfterMs, 'rotateAfterMs');
  if (rotateAfterMs > limit) {
    throw new RangeError(`multiplex.rotateAfterMs (${rotateAfterMs}) must be at most half the pool's leakDetectionThresholdMs (${limit})`);
  }
  const slowStatementMs =
    options.slowStatementMs === undefined ? DEFAULT_MULTIPLEX_SLOW_STATEMENT_MS : positiveNumber(options.slowStatementMs, 'slowStatementMs');
  return Object.freeze({ connections, maxInFlight, rotateAfterMs, slowStatementMs });
}
