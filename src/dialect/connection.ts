import type { CompiledQuery, ControlConnectionProvider, DatabaseConnection, QueryResult } from 'kysely';
import type { AbortableOperationOptions } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { PooledConnection } from '../pool/instrumented-pool.js';
import { ConnectionDiscardedError, type DiscardReason } from './connection-discarded-error.js';
import { isFatalConnectionError } from '../pool/fatal-error.js';
import { runControlStatement } from './control-connection.js';
import { closeCursor, openCursor } from './cursor.js';
import type { InterceptedResult } from './interceptor.js';
import type { InterceptorChain } from './interceptor-chain.js';
import { QueryContextImpl, type ConnectionSession, type QueryMode } from './query-context.js';
import { toKyselyResult } from './query-result.js';
import { withCallerFrames } from './stack-trace.js';

/** What a connection needs from its driver. */
export interface ConnectionDependencies {
  /** The interceptors, or `undefined` for the direct path. */
  readonly chain: InterceptorChain | undefined;
  /** The connection as plugins see it; one per physical connection. */
  readonly session: ConnectionSession;
  /** Settings for a control connection outside the pool (cancel, terminate); built only when needed. */
  readonly controlOptions: () => Readonly<pg.ClientConfig>;
  readonly logger: Logger;
}

function transactionStatus(client: pg.PoolClient): string | null | undefined {
  const read = (client as { getTransactionStatus?: () => string | null }).getTransactionStatus;
  return typeof read === 'function' ? read.call(client) : undefined;
}

/**
 * One lease of a pooled connection, as Kysely's `DatabaseConnection`. A new object per
 * acquisition, dead after release, so a late cancel or kill can never reach the next borrower.
 *
 * It remembers the last fatal-looking error of its statements and whether it must be discarded
 * (failed rollback, killed session, released inside a transaction block), and hands that to
 * `PooledConnection.release(error)` so the pool destroys the connection instead of reusing it.
 */
export class PostgresConnection implements DatabaseConnection {
  readonly #pooled: PooledConnection;
  readonly #client: pg.PoolClient;
  readonly #deps: ConnectionDependencies;
  /** Statements submitted and not settled, oldest first (node-postgres queues them): query id → SQL. */
  readonly #inFlight = new Map<string, string>();
  #processId: number | undefined;
  #fatalError: unknown;
  #discard: DiscardReason | undefined;
  #inTransactionBlock = false;
  #released = false;

  constructor(pooled: PooledConnection, deps: ConnectionDependencies) {
    this.#pooled = pooled;
    this.#client = pooled.client;
    this.#deps = deps;
    const known = pooled.processId ?? (pooled.client as { processID?: unknown }).processID;
    this.#processId = typeof known === 'number' && known > 0 ? known : undefined;
    // node-postgres emits 'error' on a checked-out client that fails between statements (e.g. its
    // backend is terminated inside a transaction); unheard, that event would crash the process.
    this.#client.on('error', this.#onClientError);
  }

  /** Pool-unique id of the underlying connection. */
  get id(): number {
    return this.#pooled.id;
  }

  /** The server's backend process id, once known. */
  get processId(): number | undefined {
    return this.#processId;
  }

  /** True once the connection must not be reused (it will be destroyed on release). */
  get discarded(): boolean {
    return this.#discard !== undefined || this.#fatalError !== undefined;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    this.#assertUsable();
    const tracked = this.#track(compiledQuery);
    try {
      const chain = this.#deps.chain;
      if (chain === undefined) {
        return toKyselyResult<R>(await this.#client.query(compiledQuery.sql, compiledQuery.parameters as unknown[]));
      }
      const ctx = this.#context(compiledQuery, 'execute', options);
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
    this.#assertUsable();
    const chain = this.#deps.chain;
    const ctx = chain === undefined ? undefined : this.#context(compiledQuery, 'stream', options);
    const entered = chain && ctx ? await chain.enterStream(ctx) : 0;
    const tracked = this.#track(compiledQuery);
    const cursor = openCursor(this.#client, compiledQuery.sql, compiledQuery.parameters);
    let rowCount = 0;
    let failure: { error: unknown } | undefined;
    try {
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
      if (this.#fatalError === undefined) {
        await closeCursor(this.#client, cursor).catch((error: unknown) => {
          this.#noteError(error);
          this.#discard ??= 'stream-failed';
        });
      }
      this.#inFlight.delete(tracked);
      if (chain && ctx) {
        if (failure) await chain.failStream(ctx, entered, failure.error);
        else await chain.completeStream(ctx, entered, rowCount);
      }
    }
  }

  async collectSessionInfo(): Promise<void> {
    if (this.#processId !== undefined) return;
    this.#assertUsable();
    const { rows } = await this.#client.query<{ pid: number | string }>('select pg_backend_pid() as pid');
    const pid = Number(rows[0]?.pid);
    if (Number.isInteger(pid) && pid > 0) this.#processId = pid;
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
      this.#deps.controlOptions(),
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
      this.#deps.controlOptions(),
      { sql: 'select pg_terminate_backend($1)', parameters: [pid], stillWanted: () => !this.#released },
      this.#deps.logger,
    );
    this.#deps.logger.debug('session terminated on request', { connectionId: this.id });
  }

  /** Marks the connection as not reusable. */
  discard(reason: DiscardReason): void {
    this.#discard ??= reason;
  }

  /** Records that the driver opened (`true`) or ended (`false`) a transaction block. */
  setTransactionBlock(open: boolean): void {
    this.#inTransactionBlock = open;
  }

  /** Gives the connection back to the pool, with the reason to destroy it if there is one. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#client.removeListener('error', this.#onClientError);
    let error = this.#fatalError;
    if (error === undefined && this.#discard !== undefined) {
      error = new ConnectionDiscardedError(this.#discard);
    }
    if (error === undefined && this.#inTransaction()) {
      error = new ConnectionDiscardedError('open-transaction');
    }
    if (error !== undefined) {
      this.#deps.logger.debug('releasing a broken connection', {
        connectionId: this.id,
        reason: error instanceof ConnectionDiscardedError ? error.reason : 'fatal error',
      });
    }
    this.#pooled.release(error);
  }

  readonly #onClientError = (error: Error): void => {
    this.#fatalError ??= error;
    this.#deps.logger.warn('connection failed while checked out', {
      connectionId: this.id,
      code: (error as { code?: unknown }).code,
      error: error.message,
    });
  };

  readonly #terminal = async (ctx: QueryContextImpl): Promise<InterceptedResult> => {
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
      session: this.#deps.session,
      inTransaction: this.#inTransaction(),
      signal: options?.signal,
    });
  }

  #inTransaction(): boolean {
    const status = transactionStatus(this.#client);
    if (status === undefined) return this.#inTransactionBlock;
    return status === 'T' || status === 'E';
  }

  #noteError(error: unknown): void {
    if (isFatalConnectionError(error)) this.#fatalError = error;
  }

  #assertUsable(): void {
    if (this.#released) throw new Error('the connection was already released');
    if (this.#discard !== undefined) throw new ConnectionDiscardedError(this.#discard);
  }

  #requireProcessId(fn: string): number {
    const pid = this.#processId;
    if (pid === undefined) {
      throw new Error(`cannot call ${fn}: the backend process id of connection ${this.id} is unknown`);
    }
    return pid;
  }

  /** Registers a submitted statement as in flight; returns its key in `#inFlight`. */
  #track(compiledQuery: CompiledQuery): string {
    const id = compiledQuery.queryId?.queryId ?? '';
    this.#inFlight.set(id, compiledQuery.sql);
    return id;
  }
}
