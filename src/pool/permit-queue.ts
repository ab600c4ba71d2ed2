import type { ConnectionRecord } from './connection-record.js';

/**
 * A counting semaphore with a FIFO queue of cancellable requests. The pool holds one permit per
 * connection checked out of `pg.Pool` (borrowed by a caller, or held by the warm-up or
 * housekeeping), so `pg.Pool` itself never has to queue: waiting, its deadline and its
 * cancellation all happen here, where a waiter can be removed.
 */

/** A queued request for a permit. */
export interface PermitRequest {
  /**
   * Resolves when the permit is granted (then the requester holds it): with the connection a
   * releasing borrower handed over with it ({@link PermitQueue.handOff}), or `undefined` for the
   * permit alone. Never rejects.
   */
  readonly granted: Promise<ConnectionRecord | undefined>;
  /**
   * Withdraws the request. Returns `false` when the permit had already been granted: the caller
   * then holds it (and {@link handedOff}, if set) and must give it back.
   */
  cancel(): boolean;
  /** The connection handed over with the permit, once granted. */
  readonly handedOff: ConnectionRecord | undefined;
}

interface Waiter {
  grant(record: ConnectionRecord | undefined): void;
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
    let handedOff: ConnectionRecord | undefined;
    let resolve!: (record: ConnectionRecord | undefined) => void;
    const promise = new Promise<ConnectionRecord | undefined>((r) => {
      resolve = r;
    });
    const waiter: Waiter = {
      grant: (record) => {
        granted = true;
        handedOff = record;
        resolve(record);
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
      get handedOff() {
        return handedOff;
      },
    };
  }

  /** Gives a permit back: to the first queued request, or to the free count. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next.grant(undefined);
    else this.#available += 1;
  }

  /**
   * Gives a permit back together with the connection it was held for, to the first queued
   * request. Returns `false`, doing nothing, when nobody waits.
   */
  handOff(record: ConnectionRecord): boolean {
    const next = this.#waiters.shift();
    if (next === undefined) return false;
    next.grant(record);
    return true;
  }
}
