import type pg from 'pg';
import type { DestroyReason } from './instrumented-pool.js';
import type { LeakWatch } from './leak-detector.js';

/**
 * Where a connection is, as far as the instrumented pool knows:
 * - `new`: just opened, not yet handed to anyone;
 * - `idle`: in pg.Pool's idle list;
 * - `borrowed`: handed to a caller;
 * - `housekeeping`: checked out by the warm-up or the idle/lifetime sweep;
 * - `closing`: being closed (its `remove` event is pending), or taken back from its borrower by
 *   `close()` at its timeout.
 */
export type ConnectionState = 'new' | 'idle' | 'borrowed' | 'housekeeping' | 'closing';

/** The current borrower's handle, as the pool sees it. */
export interface Borrower {
  /** Makes the handle's later `release` calls no-ops. Returns false if it was already released. */
  revoke(): boolean;
}

/** What the pool keeps about one open connection (registered on pg.Pool's `connect` event). */
export interface ConnectionRecord {
  /** Pool-unique, monotonic id. */
  readonly id: number;
  readonly client: pg.PoolClient;
  /** `performance.now()` when the connection was ready. */
  readonly openedAt: number;
  /** This connection's lifetime (jitter applied), ms; `Infinity` for none. */
  readonly lifetimeMs: number;
  /** `openedAt + lifetimeMs`. */
  readonly expiresAt: number;
  /** State that lives as long as the connection, for whoever borrows it (see `PooledConnection.state`). */
  readonly attachments: Map<string | symbol, unknown>;
  state: ConnectionState;
  /** `performance.now()` when it last went idle (opened, or released by a caller). */
  lastReleasedAt: number;
  /** The client emitted `error` or `end`: it must never be reused. */
  broken: boolean;
  /** A client error while borrowed was already logged (one warning per connection). */
  errorReported: boolean;
  /** Why the pool is closing it, once it decided to. */
  destroyReason: DestroyReason | undefined;
  /** The current borrower's leak watch. */
  leakWatch: LeakWatch | undefined;
  /** The current borrower's handle (revoked when `close()` times out). */
  borrower: Borrower | undefined;
}
