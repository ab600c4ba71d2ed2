import type pg from 'pg';
import type { Borrower, ConnectionRecord } from './connection-record.js';
import type { PooledConnection } from './instrumented-pool.js';

/**
 * The server's backend process id of a connected node-postgres client (`client.processID`, from
 * the server's BackendKeyData), or `undefined` before it is known. The pool's single reading of it:
 * {@link PooledConnection.processId} and the pool's logs use this.
 */
export function processIdOf(client: pg.ClientBase): number | undefined {
  const id = (client as { processID?: unknown }).processID;
  return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : undefined;
}

/** Where a {@link BorrowedConnection} goes back to (one object per pool, not one closure per borrow). */
export interface ReleaseTarget {
  /** The borrower of `record`, acquired at `acquiredAt` (`performance.now()`), released it with `error`. */
  releaseBorrowed(record: ConnectionRecord, acquiredAt: number, error: unknown): void;
}

/**
 * A caller's handle on a borrowed connection. `release` works once; later calls, and calls after
 * the pool took the connection back at shutdown ({@link revoke}), do nothing.
 */
export class BorrowedConnection implements PooledConnection, Borrower {
  readonly #record: ConnectionRecord;
  readonly #acquiredAt: number;
  readonly #target: ReleaseTarget;
  #released = false;
  #revoked = false;
  /** `broken` as it was when the caller released the connection (the record may be lent again). */
  #brokenAtRelease = false;

  constructor(record: ConnectionRecord, acquiredAt: number, target: ReleaseTarget) {
    this.#record = record;
    this.#acquiredAt = acquiredAt;
    this.#target = target;
  }

  get id(): number {
    return this.#record.id;
  }

  get client(): pg.PoolClient {
    return this.#record.client;
  }

  get lifetimeMs(): number {
    return this.#record.lifetimeMs;
  }

  get state(): Map<string | symbol, unknown> {
    return this.#record.attachments;
  }

  get processId(): number | undefined {
    return processIdOf(this.#record.client);
  }

  get broken(): boolean {
    if (this.#revoked) return true;
    return this.#released ? this.#brokenAtRelease : this.#record.broken;
  }

  release(error?: unknown): void {
    if (this.#released) return;
    this.#released = true;
    this.#brokenAtRelease = this.#record.broken;
    this.#target.releaseBorrowed(this.#record, this.#acquiredAt, error);
  }

  /** Makes later `release` calls no-ops. Returns false if the connection was already released. */
  revoke(): boolean {
    if (this.#released) return false;
    this.#released = true;
    this.#revoked = true;
    return true;
  }
}
