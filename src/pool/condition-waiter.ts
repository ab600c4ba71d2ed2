/** The longest delay `setTimeout` honours; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** `ms` as a `setTimeout` delay: negative or NaN → 0, beyond the timer range → the longest delay. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS) || 0;
}

/**
 * Waits for a condition on the pool's state (e.g. "every borrowed connection is back") that is
 * re-checked whenever the pool calls {@link ConditionWaiter.notify}.
 */
export class ConditionWaiter {
  readonly #listeners = new Set<() => void>();

  /**
   * Re-checks every pending condition. Call after each state change that could satisfy one.
   * Called on every acquisition and release: with nobody waiting (the usual case) it does nothing.
   */
  notify(): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Resolves `true` once `condition()` holds, or `false` after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(result);
      };
      const check = (): void => {
        if (condition()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timerDelay(timeoutMs));
      this.#listeners.add(check);
    });
  }
}
