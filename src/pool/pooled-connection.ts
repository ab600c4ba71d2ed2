import type pg from 'pg';
import type { PooledConnection } from './instrumented-pool.js';

/** The server's backend process id of a connected node-postgres client. */
export function processIdOf(client: pg.ClientBase): number | undefined {
  const id = (client as { processID?: unknown }).processID;
  return typeof id === 'number' ? id : undefined;
}

/**
 * A caller's handle on a borrowed connection. `release` works once; later calls, and calls after
 * the pool took the connection back at shutdown ({@link revoke}), do nothing.
 */
export class BorrowedConnection implements PooledConnection {
  readonly id: number;
  readonly client: pg.PoolClient;
  readonly lifetimeMs: number;
  #released = false;
  readonly #onRelease: (error: unknown) => void;

  constructor(id: number, client: pg.PoolClient, lifetimeMs: number, onRelease: (error: unknown) => void) {
    this.id = id;
    this.client = client;
    this.lifetimeMs = lifetimeMs;
    this.#onRelease = onRelease;
  }

  get processId(): number | undefined {
    return processIdOf(this.client);
  }

  release(error?: unknown): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(error);
  }

  /** Makes later `release` calls no-ops. Returns false if the connection was already released. */
  revoke(): boolean {
    if (this.#released) return false;
    this.#released = true;
    return true;
  }
}
