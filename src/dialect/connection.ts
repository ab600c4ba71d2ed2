import type { CompiledQuery, ControlConnectionProvider, DatabaseConnection, QueryResult } from 'kysely';
import type { AbortableOperationOptions } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { InstrumentedPool, PooledConnection } from '../pool/instrumented-pool.js';
import { ConnectionDiscardedError, type DiscardReason } from './connection-discarded-error.js';
import { isFatalConnectionError } from '../pool/fatal-error.js';
import { runControlStatement } from './control-connection.js';
import { closeCursor, openCursor, type RowCursor } from './cursor.js';
import type { InterceptedResult } from './interceptor.js';
import type { InterceptorChain } from './interceptor-chain.js';
import { QueryContextImpl, type ConnectionSession, type QueryMode } from './query-context.js';
import { toKyselyResult } from './query-result.js';
import { withCallerFrames } from './stack-trace.js';

/** What every connection of one driver shares; built once per driver, not per acquisition. */
export interface ConnectionDependencies {
  /** The interceptors, or `undefined` for the direct path. */
  readonly chain: InterceptorChain | undefined;
  /** Opens control connections (cancel, terminate) outside the pool. */
  readonly pool: Pick<InstrumentedPool, 'openClient'>;
  /** `application_name` of the control connections. */
  readonly controlApplicationName: string;
  readonly logger: Logger;
}

/** True inside an open (`T`) or failed (`E`) transaction block, as the server last reported it. */
function inTransactionBlock(client: pg.ClientBase): boolean {
  const status = client.getTransactionStatus();
  return status === 'T' || status === 'E';
}

/**
 * One lease of a pooled connection, as Kysely's `DatabaseConnection`. A new object per
 * acquisition, dead after release, so a late cancel or kill can never reach the next borrower.
 *
 * It remembers the last fatal-looking error of its statements and whether it must be discarded
 * (failed rollback, killed session, cursor that could not be closed), and hands that to
 * `PooledConnection.release(error)` so the pool destroys the connection instead of reusing it.
 * Errors the client emits while leased, and a release inside a transaction block, are the pool's
 * business (`PooledConnection.broken`, its release-time transaction check).
 */
export class PostgresConnection implements DatabaseConnection {
  readonly #pooled: PooledConnection;
  readonly #client: pg.PoolClient;
  readonly #session: ConnectionSession;
  readonly #deps: ConnectionDependencies;
  /** Statements submitted and not settled, oldest first (node-postgres queues them): query id → SQL. */
  readonly #inFlight = new Map<string, string>();
  #fatalError: unknown;
  #discard: DiscardReason | undefined;
  #released = false;

  constructor(pooled: PooledConnection, session: ConnectionSession, deps: ConnectionDependencies) {
    this.#pooled = pooled;
    this.#client = pooled.client;
    this.#session = session;
    this.#deps = deps;
  }

  /** Pool-unique id of the underlying connection. */
  get id(): number {
    return this.#pooled.id;
  }

  /** The server's backend process id, once known. */
  get processId(): number | undefined {
    return this.#pooled.processId;
  }

  /** True once the connection must not be reused (it will be destroyed on release). */
  get discarded(): boolean {
    return this.#discard !== undefined || this.#fatalError !== undefined || this.#pooled.broken;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    const chain = this.#deps.chain;
    if (chain === undefined) {
      this.#assertUsable();
      const tracked = this.#track(compiledQuery, compiledQuery.sql);
      try {
        return toKyselyResult<R>(await this.#client.query(compiledQuery.sql, compiledQuery.parameters as unknown[]));
      } catch (error) {
        this.#noteError(error);
        throw withCallerFrames(error, new Error());
      } finally {
        this.#inFlight.delete(tracked);
      }
    }
    const ctx = this.#context(compiledQuery, 'execute', options);
    const unusable = this.#unusable();
    if (unusable !== undefined) {
      // Refused before the chain: no `before`/`execute` may run on a lease that is dead (its client
      // may already be lent to another borrower), but the `error` hooks (timing, audit) see it.
      await chain.reject(ctx, unusable);
      throw withCallerFrames(unusable, new Error());
    }
    const tracked = this.#track(compiledQuery, compiledQuery.sql);
    try {
      return (await chain.execute(ctx, this.#terminal)) as QueryResult<R>;
    } catch (error) {
      this.#noteError(error);
      throw withCallerFrames(error, new Error());
    } finally {
      this.#inFlight.delete(tracked);
    }
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number,
    options?: AbortableOperationOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new TypeError(`chunkSize must be a positive integer, got ${String(chunkSize)}`);
    }
    const chain = this.#deps.chain;
    let ctx: QueryContextImpl | undefined;
    let entered = 0;
    if (chain === undefined) {
      this.#assertUsable();
    } else {
      ctx = this.#context(compiledQuery, 'stream', options);
      const refused = this.#unusable();
      if (refused !== undefined) {
        await chain.reject(ctx, refused);
        throw withCallerFrames(refused, new Error());
      }
      entered = await chain.enterStream(ctx);
      // released or discarded while the `before` hooks ran
      const unusable = this.#unusable();
      if (unusable !== undefined) {
        await chain.failStream(ctx, entered, unusable);
        throw withCallerFrames(unusable, new Error());
      }
    }
    // the `before` hooks may have rewritten the statement: the cursor runs what they left
    const sql = ctx === undefined ? compiledQuery.sql : ctx.sql;
    const parameters = ctx === undefined ? compiledQuery.parameters : ctx.parameters;
    const tracked = this.#track(compiledQuery, sql);
    let cursor: RowCursor | undefined;
    let rowCount = 0;
    let failure: { error: unknown } | undefined;
    try {
      cursor = openCursor(this.#client, sql, parameters);
      while (true) {
        const rows = await cursor.read(chunkSize);
        if (rows.length === 0) break;
        rowCount += rows.length;
        yield { rows: rows as R[] };
      }
    } catch (error) {
      this.#noteError(error);
      failure = { error };
      throw withCallerFrames(error, new Error());
    } finally {
      if (cursor !== undefined && this.#fatalError === undefined && !this.#pooled.broken) {
        await closeCursor(this.#client, cursor).catch((error: unknown) => {
          this.#noteError(error);
          this.#discard ??= 'stream-failed';
        });
      }
      this.#inFlight.delete(tracked);
      if (chain !== undefined && ctx !== undefined) {
        if (failure) await chain.failStream(ctx, entered, failure.error);
        else await chain.completeStream(ctx, entered, rowCount);
      }
    }
  }

  /**
   * Cancels the latest statement submitted on this connection with `pg_cancel_backend`, from a
   * connection outside the pool (never waiting for a pooled one), but only if that statement is
   * still in flight here and the backend is still running its text.
   */
  async cancelQuery(_controlConnectionProvider: ControlConnectionProvider): Promise<void> {
    let target: [string, string] | undefined;
    for (const entry of this.#inFlight) target = entry;
    if (target === undefined || this.#released) return;
    const [queryId, text] = target;
    const pid = this.#requireProcessId('pg_cancel_backend');
    const signalled = await runControlStatement(
      () => this.#openControlClient(),
      {
        // The server-side check narrows the race with the statement finishing meanwhile. Where the
        // backend's activity is not visible ('disabled' or no privilege), pg_cancel_backend decides.
        sql:
          'select pg_cancel_backend(pid) from pg_stat_activity where pid = $1 and ' +
          "(state is null or state = 'disabled' or (state = 'active' and starts_with($2::text, query)))",
        parameters: [pid, text],
        stillWanted: () => !this.#released && this.#inFlight.has(queryId),
      },
      this.#deps.logger,
    );
    this.#deps.logger.debug(signalled ? 'statement cancel signalled' : 'statement finished before it could be canceled', {
      connectionId: this.id,
      queryId,
    });
  }

  /**
   * Terminates the session with `pg_terminate_backend`, from a connection outside the pool. The
   * connection is destroyed on release whatever the outcome.
   */
  async killSession(_controlConnectionProvider: ControlConnectionProvider): Promise<void> {
    if (this.#released) return;
    this.#discard ??= 'session-killed';
    const pid = this.#requireProcessId('pg_terminate_backend');
    await runControlStatement(
      () => this.#openControlClient(),
      { sql: 'select pg_terminate_backend($1)', parameters: [pid], stillWanted: () => !this.#released },
      this.#deps.logger,
    );
    this.#deps.logger.debug('session terminated on request', { connectionId: this.id });
  }

  /** Marks the connection as not reusable. */
  discard(reason: DiscardReason): void {
    this.#discard ??= reason;
  }

  /**
   * Gives the connection back to the pool, with the reason to destroy it if there is one
   * (the pool itself also destroys a broken connection or one inside a transaction). Idempotent.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    let error = this.#fatalError;
    if (error === undefined && this.#discard !== undefined) {
      error = new ConnectionDiscardedError(this.#discard);
    }
    if (error !== undefined) {
      this.#deps.logger.debug('releasing a broken connection', {
        connectionId: this.id,
        reason: error instanceof ConnectionDiscardedError ? error.reason : 'fatal error',
      });
    }
    this.#pooled.release(error);
  }

  readonly #terminal = async (ctx: QueryContextImpl): Promise<InterceptedResult> => {
    // A statement on an unusable lease is refused before the chain; this catches a lease
    // discarded (e.g. its session killed) or released while the statement was inside the chain.
    const unusable = this.#unusable();
    if (unusable !== undefined) {
      ctx.settle(undefined, true);
      throw unusable;
    }
    // interceptors may have rewritten the text: cancellation compares what the server runs
    if (this.#inFlight.has(ctx.queryId)) this.#inFlight.set(ctx.queryId, ctx.sql);
    try {
      const raw =
        ctx.statementName === undefined
          ? await this.#client.query(ctx.sql, ctx.parameters as unknown[])
          : await this.#client.query({ name: ctx.statementName, text: ctx.sql, values: ctx.parameters as unknown[] });
      const result = toKyselyResult<unknown>(raw);
      ctx.settle(result.rows.length, true);
      return result;
    } catch (error) {
      ctx.settle(undefined, true);
      this.#noteError(error);
      throw error;
    }
  };

  #context(compiledQuery: CompiledQuery, mode: QueryMode, options: AbortableOperationOptions | undefined): QueryContextImpl {
    return new QueryContextImpl({
      compiledQuery,
      mode,
      session: this.#session,
      // a released lease's client may be lent to someone else: its state is not this statement's
      inTransaction: !this.#released && inTransactionBlock(this.#client),
      signal: options?.signal,
    });
  }

  #openControlClient(): Promise<pg.Client> {
    return this.#deps.pool.openClient({ applicationName: this.#deps.controlApplicationName, like: this.#client });
  }

  #noteError(error: unknown): void {
    if (isFatalConnectionError(error)) this.#fatalError = error;
  }

  /** Why no statement may run on this lease any more, or `undefined` while it may. */
  #unusable(): Error | undefined {
    if (this.#released) return new Error('the connection was already released');
    if (this.#discard !== undefined) return new ConnectionDiscardedError(this.#discard);
    return undefined;
  }

  #assertUsable(): void {
    const unusable = this.#unusable();
    if (unusable !== undefined) throw unusable;
  }

  #requireProcessId(fn: string): number {
    const pid = this.#pooled.processId;
    if (pid === undefined) {
      throw new Error(`cannot call ${fn}: the backend process id of connection ${this.id} is unknown`);
    }
    return pid;
  }

  /** Registers a submitted statement as in flight; returns its key in `#inFlight`. */
  #track(compiledQuery: CompiledQuery, sql: string): string {
    const id = compiledQuery.queryId?.queryId ?? '';
    this.#inFlight.set(id, sql);
    return id;
  }
}
