import { performance } from 'node:perf_hooks';

/** Texts remembered at most; the oldest are forgotten first. */
const MAX_ENTRIES = 1024;
/** How long a text stays learned slow before it is tried on a shared connection again. */
export const SLOW_STATEMENT_MEMORY_MS = 30_000;

/**
 * The SQL texts found slow on a shared connection, which then run on exclusive connections so that
 * they do not hold up the statements pipelined behind them (head-of-line blocking). A text is
 * learned slow when its service time on a shared connection (its own time at the head of the
 * pipeline, not its wait behind others) exceeds `slowMs`. It is forgotten when an exclusive run of
 * it takes less than half of that, or after {@link SLOW_STATEMENT_MEMORY_MS} in any case: a
 * statement that was slow once (a cold cache, a lock, a pause of the client's event loop that made
 * it look slow) comes back to sharing, at the cost of one more slow run there if it still is.
 */
export class SlowStatements {
  readonly #slowMs: number;
  /** Text → when it is forgotten (`performance.now()` clock). */
  readonly #texts = new Map<string, number>();

  constructor(slowMs: number) {
    this.#slowMs = slowMs;
  }

  /** The threshold, in milliseconds. */
  get slowMs(): number {
    return this.#slowMs;
  }

  /** Texts currently learned slow (expired ones included until they are next looked up). */
  get size(): number {
    return this.#texts.size;
  }

  has(sql: string): boolean {
    if (this.#texts.size === 0) return false;
    const until = this.#texts.get(sql);
    if (until === undefined) return false;
    if (performance.now() < until) return true;
    this.#texts.delete(sql);
    return false;
  }

  /** A run of `sql` on a shared connection kept it for `serviceMs`. True when this made it slow. */
  noteShared(sql: string, serviceMs: number): boolean {
    if (serviceMs <= this.#slowMs || this.#texts.has(sql)) return false;
    if (this.#texts.size >= MAX_ENTRIES) {
      const oldest = this.#texts.keys().next();
      if (oldest.done !== true) this.#texts.delete(oldest.value);
    }
    this.#texts.set(sql, performance.now() + SLOW_STATEMENT_MEMORY_MS);
    return true;
  }

  /** An exclusive run of a slow-learned `sql` took `durationMs` (waiting for its connection included). */
  noteExclusive(sql: string, durationMs: number): void {
    if (durationMs < this.#slowMs / 2) this.#texts.delete(sql);
  }
}
