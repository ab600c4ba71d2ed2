/**
 * A counting semaphore with a FIFO queue of cancellable requests. The pool holds one permit per
 * connection checked out of `pg.Pool` (borrowed by a caller, or held by the warm-up or
 * housekeeping), so `pg.Pool` itself never has to queue: waiting, its deadline and its
 * cancellation all happen here, where a waiter can be removed.
 */

/** A queued request for a permit. */
export interface PermitRequest {
  /** Resolves when the permit is granted (then the requester holds it). Never rejects. */
  readonly granted: Promise<void>;
  /**
   * Withdraws the request. Returns `false` when the permit had already been granted: the caller
   * then holds it and must {@link PermitQueue.release} it.
   */
  cancel(): boolean;
}

interface Waiter {
  grant(): void;
}

/** FIFO semaphore; see the module comment. */
export class PermitQueue {
  #available: number;
  readonly #waiters: Waiter[] = [];

  constructor(size: number) {
    this.#available = size;
  }

  /** Requests waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a permit if one is free and nobody is queued before us. */
  tryTake(): boolean {
    if (this.#available > 0 && this.#waiters.length === 0) {
      this.#available -= 1;
      return true;
    }
    return false;
  }

  /** Queues for a permit (call {@link tryTake} first). */
  request(): PermitRequest {
    let granted = false;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    const waiter: Waiter = {
      grant: () => {
        granted = true;
        resolve();
      },
    };
    this.#waiters.push(waiter);
    return {
      granted: promise,
      cancel: () => {
        if (granted) return false;
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        return true;
      },
    };
  }

  /** Gives a permit back: to the first queued request, or to the free count. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next.grant();
    else this.#available += 1;
  }
}
