import { ConditionWaiter } from './condition-waiter.js';

/**
 * What the parts of one pool (acquisition, release, checkout, shutdown) share: whether it is
 * closing, how many connections callers hold, and the waits on that state.
 */
export class PoolState {
  /** Waits on the pool's state; notified after each change that could satisfy one. */
  readonly changes = new ConditionWaiter();
  #borrowed = 0;
  #closed = false;

  /** Connections handed to callers and not yet back. */
  get borrowed(): number {
    return this.#borrowed;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A connection was handed to a caller. */
  lent(): void {
    this.#borrowed += 1;
  }

  /** A borrowed connection came back, or `close()` took it back from its borrower. */
  returned(): void {
    this.#borrowed -= 1;
  }

  /** `close()` was called: for good. */
  close(): void {
    this.#closed = true;
  }
}
