import type { PooledConnection } from '../../pool/instrumented-pool.js';
import type { ConnectionSession } from '../query-context.js';

/** node-postgres's pipeline switch: a public field of `pg.Client`, read each time a query is queued. */
interface PipelineSwitch {
  pipeline: boolean;
}

/** What of the client's socket is used: batching writes, and destroying it when the connection is killed. */
interface CorkableStream {
  cork(): void;
  uncork(): void;
  destroy?(): void;
}

function streamOf(pooled: PooledConnection): CorkableStream | undefined {
  const stream = (pooled.client as unknown as { connection?: { stream?: Partial<CorkableStream> } }).connection?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as CorkableStream) : undefined;
}

/**
 * `serving`: takes new statements. `leaving`: takes none; goes back to the pool once its statements
 * are done (rotation, a statement abandoned at its deadline, shutdown). `gone`: handed back (or
 * destroyed after a fatal error).
 */
export type SharedConnectionState = 'serving' | 'leaving' | 'gone';

/**
 * One pooled connection lent to the multiplexer: node-postgres pipelines the statements queued on
 * it (each with its own `Sync`, so one statement's error never touches its neighbours), and it
 * counts them. Its lease goes back to the pool with the pipeline switched off, only once nothing
 * is in flight (or at once, with the error, when the connection died: it is destroyed).
 */
export class SharedConnection {
  /** Position among the shared connections (a bounded metric label). */
  readonly slot: number;
  readonly pooled: PooledConnection;
  readonly session: ConnectionSession;
  #inFlight = 0;
  #state: SharedConnectionState = 'serving';
  readonly #onGone: (connection: SharedConnection) => void;
  readonly #stream: CorkableStream | undefined;
  #corked = false;
  /** Statements written to the server and not answered yet (in flight, less those still in interceptors). */
  #onWire = 0;
  /**
   * `performance.now()` of the connection's last progress: a statement answered, or the first one
   * written when none was on the wire. Statements are answered in the order they were written.
   */
  #progressAt = 0;

  constructor(slot: number, pooled: PooledConnection, session: ConnectionSession, onGone: (connection: SharedConnection) => void) {
    this.slot = slot;
    this.pooled = pooled;
    this.session = session;
    this.#onGone = onGone;
    this.#stream = streamOf(pooled);
    (pooled.client as unknown as PipelineSwitch).pipeline = true;
  }

  /**
   * Whether the statement at the head of the pipeline has been running longer than `slowMs`
   * (nothing answered for that long while statements are in flight): new statements queued here
   * would wait for it.
   */
  stalled(now: number, slowMs: number): boolean {
    return this.#onWire > 0 && now - this.#progressAt > slowMs;
  }

  /** A statement is being written to the server now. */
  sent(now: number): void {
    if (this.#onWire === 0) this.#progressAt = now;
    this.#onWire += 1;
  }

  /**
   * Holds the socket's writes until the current run of promise jobs is over (`process.nextTick`),
   * so that the statements queued here by several callers in one go leave in one write (node-postgres
   * corks each statement's messages, not the statements between them).
   */
  batchWrites(): void {
    if (this.#corked || this.#stream === undefined) return;
    this.#corked = true;
    this.#stream.cork();
    process.nextTick(this.#uncork);
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#stream?.uncork();
  };

  /**
   * A statement sent at `sentAt` was answered now: returns the time it kept the connection to
   * itself (from when the one before it was answered, or from its sending if later), in
   * milliseconds, i.e. its own service time without the queueing behind others.
   */
  answered(sentAt: number, now: number): number {
    const serviceMs = now - Math.max(sentAt, this.#progressAt);
    this.#progressAt = now;
    this.#onWire = Math.max(0, this.#onWire - 1);
    return serviceMs;
  }

  /** Statements submitted and not settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get state(): SharedConnectionState {
    return this.#state;
  }

  /** True while new statements may be sent here. */
  get serving(): boolean {
    return this.#state === 'serving' && !this.pooled.broken;
  }

  /** A statement is about to be sent. */
  start(): void {
    this.#inFlight += 1;
  }

  /** A statement settled (answered, failed, or its connection died). */
  finish(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0 && this.#state === 'leaving') this.#handBack(undefined);
  }

  /** Takes no new statements; goes back to the pool when the ones in flight are done. */
  leave(): void {
    if (this.#state !== 'serving') return;
    this.#state = 'leaving';
    if (this.#inFlight === 0) this.#handBack(undefined);
  }

  /**
   * The connection died (or must not be trusted): destroyed at once. Statements still in flight on
   * it fail with node-postgres's connection error.
   */
  kill(error: unknown): void {
    if (this.#state === 'gone') return;
    // node-postgres ends a pipelined client only once its queries drain, which a dead or swallowed
    // connection never does: the socket goes now, failing every statement still in flight
    try {
      this.#stream?.destroy?.();
    } catch {
      // already gone
    }
    this.#handBack(error ?? new Error('shared connection discarded'));
  }

  #handBack(error: unknown): void {
    this.#state = 'gone';
    this.#uncork();
    // Nothing is in flight when it leaves gracefully: node-postgres's queues are empty, so
    // switching the pipeline off is safe for the next borrower.
    if (error === undefined) (this.pooled.client as unknown as PipelineSwitch).pipeline = false;
    try {
      this.pooled.release(error);
    } finally {
      this.#onGone(this);
    }
  }
}
