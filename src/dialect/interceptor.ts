import type { QueryResult } from 'kysely';
import type { QueryContext } from './query-context.js';

/** A result as it travels through the chain: Kysely's shape, rows not yet typed. */
export type InterceptedResult = QueryResult<unknown>;

/**
 * Runs the rest of the chain (the inner interceptors, then the server). It may be called more than
 * once (e.g. to re-run after re-preparing a statement), or not at all (to answer from a cache).
 */
export type QueryNext = () => Promise<InterceptedResult>;

/** What a hook may return: nothing, or a promise of nothing. */
export type HookResult = void | Promise<void>;

/**
 * A driver-level middleware that sees every statement the dialect runs, successful or not
 * (a Kysely plugin never sees a failed query, see ARCHITECTURE lesson 3).
 *
 * Interceptors form an onion: the first one given is the outermost. For each interceptor, in order:
 *
 * 1. `before(ctx)` runs. It may rewrite `ctx.sql` / `ctx.parameters` (for streams too); throwing
 *    vetoes the statement: it fails with that error and is never sent (the `error` hooks of the
 *    outer interceptors see it).
 * 2. `execute(ctx, next)` runs, or, when absent, the rest of the chain does. `execute` is the
 *    general form: it can change how the statement runs (set `ctx.statementName`, rewrite
 *    `ctx.sql`), re-run it (call `next()` again after an error), or short-circuit it (return a
 *    result without calling `next()`, e.g. from a cache). What it returns or throws is the outcome.
 * 3. Exactly one of `after(ctx, result)` or `error(ctx, error)` runs, with `ctx.durationMs` set,
 *    for every interceptor whose `before` completed. They are **observers only**: if one throws
 *    (or returns a promise that rejects), with whatever value, the failure is logged and ignored.
 *    Logging is bounded: a warning the first time for that hook of that interceptor, then at most
 *    one warning per minute for it, counting the failures since the previous one. The caller
 *    still gets the original result (a committed write stays reported as committed) or the
 *    original error (e.g. the `pg.DatabaseError` with its SQLSTATE), and the outer interceptors
 *    see that same outcome. To change the outcome, use `execute`.
 *
 *    `after` and `error` get the very objects the caller gets: the result (its `rows` array and
 *    the row objects) and the error are neither copied nor frozen, to keep the common path cheap.
 *    **They must not mutate them** (nor `ctx.sql`/`ctx.parameters` of a settled statement):
 *    whatever they change, the caller and the outer interceptors see changed.
 *
 * All hooks may be synchronous or return a promise. An asynchronous hook is awaited before the
 * statement settles for the caller, with no timeout: a hook whose promise never settles holds the
 * statement (and its connection) forever. Bound any waiting a hook does itself. The plugins of the
 * architecture map onto it: query timing and audit log use `before`/`after`/`error`; the statement
 * cache and the result cache use `execute`.
 *
 * A statement attempted on a lease that was already released or discarded is refused before the
 * chain: no `before`, `execute` or `after` hook runs (so no cache can answer it, and no hook
 * touches `ctx.session.client`, which may already be lent to another borrower); only the `error`
 * hooks of every interceptor run, innermost first, with the error the caller gets (for a released
 * lease, `ctx.inTransaction` is then `false` and `ctx.session.client` must not be used).
 *
 * Streams (`.stream()`) run `before`, then `after` (with empty `rows`; `ctx.rowCount` holds the
 * number of rows streamed) or `error`, but never `execute`: a cursor cannot be answered from a
 * cache nor run as a named statement. The cursor runs `ctx.sql` with `ctx.parameters` as the
 * `before` hooks left them.
 */
export interface QueryInterceptor {
  /** A short name for logs and errors. */
  readonly name?: string;
  /** Called before the statement runs; throwing vetoes it. */
  before?(ctx: QueryContext): HookResult;
  /** Wraps the execution of the statement; must return the result the caller gets. */
  execute?(ctx: QueryContext, next: QueryNext): Promise<InterceptedResult>;
  /**
   * Called after the statement succeeded, with the result the caller gets (the same object, not a
   * copy: never mutate it). Observes only: what it throws is logged and ignored. If it returns a
   * promise, the statement waits for it, without a timeout.
   */
  after?(ctx: QueryContext, result: InterceptedResult): HookResult;
  /**
   * Called after the statement failed, with the error the caller gets (the same object: never
   * mutate it). Observes only: what it throws is logged and ignored. If it returns a promise, the
   * statement waits for it, without a timeout.
   */
  error?(ctx: QueryContext, error: unknown): HookResult;
}
