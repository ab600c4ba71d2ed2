import type { PooledConnection } from '../../pool/instrumented-pool.js';
import type { ConnectionSession } from '../query-context.js';

/** node-postgres's pipeline switch: a public field of `pg.Client`, read each time a query is queued. */
interface PipelineSwitch {
  pipeline: boolean;
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

  constructor(slot: number, pooled: PooledConnection, session: ConnectionSession, onGone: (connection: SharedConnection) => void) {
    this.slot = slot;
    this.pooled = pooled;
    this.session = session;
    this.#onGone = onGone;
    (pooled.client as unknown as PipelineSwitch).pipeline = true;
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
    this.#handBack(error ?? new Error('shared connection discarded'));
  }

  #handBack(error: unknown): void {
    this.#state = 'gone';
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
