/**
 * Per-connection lifetime with jitter (HikariCP and pgxpool do the same), so that connections
 * opened together (e.g. by the warm-up) are not all closed, and reopened, at the same moment.
 */

/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * The lifetime of one new connection, in milliseconds: `maxLifetimeMs` minus a random share of
 * `jitterMs` (uniform in [0, jitterMs]), never below zero. `Infinity` when `maxLifetimeMs` is 0
 * (no lifetime limit).
 */
export function connectionLifetimeMs(maxLifetimeMs: number, jitterMs: number, random: RandomSource = Math.random): number {
  if (!(maxLifetimeMs > 0)) return Number.POSITIVE_INFINITY;
  const jitter = jitterMs > 0 ? Math.min(jitterMs, maxLifetimeMs) * random() : 0;
  return Math.max(0, maxLifetimeMs - jitter);
}
