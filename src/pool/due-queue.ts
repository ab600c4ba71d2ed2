import { timerDelay } from './condition-waiter.js';

/**
 * An entry of a {@link DueQueue}: it comes due at `dueAt` (`performance.now()` clock). The queue
 * links its entries through these fields.
 */
export abstract class DueEntry {
  readonly dueAt: number;
  /** Neighbours while queued. */
  previous: DueEntry | undefined;
  next: DueEntry | undefined;
  queued = false;

  protected constructor(dueAt: number) {
    this.dueAt = dueAt;
  }
}

/** Options of a {@link DueQueue}. */
export interface DueQueueOptions<T extends DueEntry> {
  /** Called for each entry that came due, oldest first, once it has left the queue. What it throws is ignored. */
  readonly onDue: (entry: T) => void;
  /** Whether the timer keeps the process alive while entries are queued (never when none is). */
  readonly keepAlive: boolean;
}

/**
 * Entries that come due in the order they are added (every entry waits the same time: the pool's
 * acquire timeout, its leak threshold), on one timer set for the oldest. Adding and removing an
 * entry is a list insertion and removal, not a timer set and cleared: with a timer per entry,
 * timers were about an eighth of a contended acquisition's CPU. A removed entry leaves the timer
 * set; when it fires early, it is set again for the then oldest entry.
 */
export class DueQueue<T extends DueEntry> {
  readonly #onDue: (entry: T) => void;
  readonly #keepAlive: boolean;
  #oldest: T | undefined;
  #newest: T | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onTimer = (): void => this.#sweep();

  constructor(options: DueQueueOptions<T>) {
    this.#onDue = options.onDue;
    this.#keepAlive = options.keepAlive;
  }

  /** Queues `entry`, which must come due no earlier than every entry queued before it. */
  add(entry: T): void {
    entry.queued = true;
    entry.previous = this.#newest;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.next = entry;
    this.#newest = entry;
    if (this.#timer === undefined) this.#arm(entry.dueAt);
    else if (this.#keepAlive && entry.previous === undefined) this.#timer.ref();
  }

  /** Takes `entry` out of the queue (nothing when it is not queued). */
  remove(entry: T): void {
    if (!entry.queued) return;
    entry.queued = false;
    const previous = entry.previous as T | undefined;
    const next = entry.next as T | undefined;
    if (previous === undefined) this.#oldest = next;
    else previous.next = next;
    if (next === undefined) this.#newest = previous;
    else next.previous = previous;
    entry.previous = undefined;
    entry.next = undefined;
    // nothing queued: the timer may fire once for nothing, but never keeps the process alive
    if (this.#oldest === undefined) this.#timer?.unref();
  }

  #arm(dueAt: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(timerDelay(dueAt - performance.now()))));
    if (!this.#keepAlive) this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let entry = this.#oldest; entry !== undefined && entry.dueAt <= now; entry = this.#oldest) {
      this.remove(entry);
      try {
        this.#onDue(entry);
      } catch {
        // one failing report must not stop the entries after it
      }
    }
    if (this.#oldest !== undefined) this.#arm(this.#oldest.dueAt);
  }
}
