/**
 * Waits for a condition on the pool's state (e.g. "every borrowed connection is back") that is
 * re-checked whenever the pool calls {@link ConditionWaiter.notify}.
 */
export class ConditionWaiter {
  readonly #listeners = new Set<() => void>();

  /** Re-checks every pending condition. Call after each state change that could satisfy one. */
  notify(): void {
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
      const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      this.#listeners.add(check);
    });
  }
}
