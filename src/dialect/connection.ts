import type { CompiledQuery, ControlConnectionProvider, DatabaseConnection, QueryResult } from 'kysely';
import type { AbortableOperationOptions } from 'kysely';
import type pg from 'pg';
import { queryNamed } from './named-query.js';
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
import { performance } from 'node:perf_hooks';
import { classifyError } from '../resilience/classify-error.js';
import { isReadOnlyQuery } from '../resilience/read-only-query.js';
import type { RetryEvent, RetryPolicy } from '../resilience/retry-policy.js';
import { describeError } from '../observability/describe-error.js';
import { logStatementFailure } from './statement-failure-log.js';
import { StatementDeadline } from './statement-deadline.js';
import { cancelTargetOf, sendCancelRequest } from './cancel-request.js';
import { MAX_BIND_PARAMETERS, TooManyParametersError } from '../errors/too-many-parameters-error.js';

/** What every connection of one driver shares; built once per driver, not per acquisition. */
export interface ConnectionDependencies {
  /** The interceptors, or `undefined` for the direct path. */
  readonly chain: InterceptorChain | undefined;
  /** Opens control connections (cancel, terminate) outside the pool. */
  readonly pool: Pick<InstrumentedPool, 'openClient'>;
  /** `application_name` of the control connections. */
  readonly controlApplicationName: string;
  readonly logger: Logger;
  /** Retries of reads (see {@link PostgresConnection.executeQuery}). */
  readonly retry: RetryPolicy;
  /** A new lease from the pool (through the breaker and the connect retries), to replace a dead connection. */
  readonly acquire: (signal: AbortSignal | undefined) => Promise<PooledConnection>;
  /** The session object of a pooled connection (one per physical connection). */
  readonly sessionOf: (pooled: PooledConnection) => ConnectionSession;
  /** Reports a retry (log line and observer). */
  readonly reportRetry: (event: RetryEvent, details: Record<string, unknown>) => void;
  /** Client deadline of every statement in milliseconds; 0 for none. */
  readonly queryTimeoutMs: number;
  /** How long a canceled statement may take to stop before its connection is closed. */
  readonly cancelGraceMs: number;
  /** Bounds the control connections open at once for cancels (each takes a server connection slot). */
  readonly controlSlots: ControlSlots;
}

/** A counter of control connections in use. */
export interface ControlSlots {
  /** Takes a slot if one is free. */
  tryTake(): boolean;
  release(): void;
}

/** Refuses a statement the wire protocol cannot carry, before anything is sent (the connection stays usable). */
function assertParameterCount(parameters: readonly unknown[]): void {
  if (parameters.length > MAX_BIND_PARAMETERS) throw new TooManyParametersError(parameters.length);
}

/** Errors that must end a read's retries at once (the replacement connection could not be had). */
const finalErrors = new WeakSet<object>();

function markFinal(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) finalErrors.add(error);
  return error;
}

/** SQL that cancels `pid`'s statement only while it still runs the given text (narrows the race with its end). */
const CANCEL_IF_RUNNING =
  'select pg_cancel_backend(pid) from pg_stat_activity where pid = $1 and ' +
  "(state is null or state = 'disabled' or (state = 'active' and starts_with($2::text, query)))";

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
  #pooled: PooledConnection;
  #client: pg.PoolClient;
  #session: ConnectionSession;
  readonly #deps: ConnectionDependencies;
  /** Statements submitted and not settled, oldest first (node-postgres queues them): query id → SQL. */
  readonly #inFlight = new Map<string, string>();
  #fatalError: unknown;
  #discard: DiscardReason | undefined;
  #released = false;
  /** Statements started on this lease: only the first may be retried on a new connection. */
  #statements = 0;
  /** Statements whose caller left at a deadline while node-postgres still runs them. */
  #abandoned = 0;
  /** `release()` was called while statements were abandoned: the pool gets the connection once they settle. */
  #releaseDeferred = false;
  /** The connection died and no replacement could be had: nothing is left to release. */
  #detached = false;
  /** Query ids whose cancel or kill Kysely asked for (its abort strategy), so the dialect does not add its own. */
  readonly #kyselyCanceled = new Set<string>();

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

  /**
   * Runs one statement: through the interceptor chain when there is one, bounded by the client
   * deadline (`queryTimeoutMs`) and the caller's signal, whichever ends first (the caller gets
   * `QueryTimeoutError` or the signal's reason at once; the statement is canceled on the server,
   * see {@link StatementDeadline}).
   *
   * A read is retried on a new connection when its connection died under it (or on a serialization
   * failure, on the same connection) if it is certainly safe: a `selectFrom` query with no write in
   * it ({@link isReadOnlyQuery}), outside a transaction, and the first statement of this lease (so
   * no session state set by earlier statements can be lost). Writes are never sent twice.
   */
  async executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortableOperationOptions): Promise<QueryResult<R>> {
    this.#statements += 1;
    const signal = options?.signal;
    const timeoutMs = this.#deps.queryTimeoutMs;
    const deadline = timeoutMs > 0 || signal !== undefined ? new StatementDeadline(timeoutMs, signal) : undefined;
    try {
      // The cheap checks decide whether a retry is possible at all; whether the query is really read
      // only (a walk over its tree) is only asked once an attempt has failed.
      if (this.#statements === 1 && this.#deps.retry.options.maxAttempts > 1 && compiledQuery.query?.kind === 'SelectQueryNode' && this.#mayRetry()) {
        return (await this.#deps.retry.execute((attempt) => this.#attempt(compiledQuery, options, deadline, attempt), {
          reason: 'read',
          shouldRetry: (error) => isReadOnlyQuery(compiledQuery.query) && this.#mayRetryRead(error, deadline),
          onRetry: (event) => this.#deps.reportRetry(event, { connectionId: this.id, queryId: compiledQuery.queryId?.queryId, operation: 'select' }),
          signal: deadline?.signal,
        })) as QueryResult<R>;
      }
      return (await this.#attempt(compiledQuery, options, deadline, 1)) as QueryResult<R>;
    } finally {
      deadline?.dispose();
    }
  }

  /** One attempt of {@link executeQuery}; a retry first replaces a dead connection. */
  async #attempt(
    compiledQuery: CompiledQuery,
    options: AbortableOperationOptions | undefined,
    deadline: StatementDeadline | undefined,
    attempt: number,
  ): Promise<InterceptedResult> {
    if (attempt > 1) await this.#replaceIfDead(deadline);
    const started = performance.now();
    try {
      const work = this.#executeOnce(compiledQuery, options);
      if (deadline === undefined) return await work;
      return await deadline.race(work, () => this.#abandon(work, compiledQuery, deadline));
    } catch (error) {
      // a caller that aborted its own signal chose to leave: not a failure of the statement
      if (deadline?.fired && !deadline.timedOut) this.#deps.logger.debug('statement abandoned: its caller aborted', { connectionId: this.id });
      else this.#logFailure(error, compiledQuery, attempt, performance.now() - started);
      throw error;
    }
  }

  async #executeOnce(compiledQuery: CompiledQuery, options: AbortableOperationOptions | undefined): Promise<InterceptedResult> {
    const chain = this.#deps.chain;
    if (chain === undefined) {
      this.#assertUsable();
      const tracked = this.#track(compiledQuery, compiledQuery.sql);
      try {
        assertParameterCount(compiledQuery.parameters);
        return toKyselyResult<unknown>(await this.#client.query(compiledQuery.sql, compiledQuery.parameters as unknown[]));
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
      return await chain.execute(ctx, this.#terminal);
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
    this.#statements += 1;
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
    const stopOnAbort = this.#cancelStreamOnAbort(options?.signal, sql);
    try {
      assertParameterCount(parameters);
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
      stopOnAbort.dispose();
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
    this.#kyselyCanceled.add(queryId);
    const pid = this.#requireProcessId('pg_cancel_backend');
    const signalled = await runControlStatement(
      () => this.#openControlClient(),
      {
        // The server-side check narrows the race with the statement finishing meanwhile. Where the
        // backend's activity is not visible ('disabled' or no privilege), pg_cancel_backend decides.
        sql: CANCEL_IF_RUNNING,
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
    for (const queryId of this.#inFlight.keys()) this.#kyselyCanceled.add(queryId);
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
    if (this.#abandoned > 0) {
      // a statement left at its deadline still runs (being canceled): the pool gets the connection when it stops
      this.#releaseDeferred = true;
      return;
    }
    this.#giveBack();
  }

  #giveBack(): void {
    if (this.#detached) return;
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
      assertParameterCount(ctx.parameters);
      const raw =
        ctx.statementName === undefined
          ? await this.#client.query(ctx.sql, ctx.parameters as unknown[])
          : await queryNamed(this.#client, ctx.statementName, ctx.sql, ctx.parameters as unknown[]);
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

  /**
   * The caller left a running statement at its deadline (or its signal aborted): cancel it with
   * `pg_cancel_backend` from a control connection and, if it has not stopped within
   * `cancelGraceMs` (e.g. the network swallows everything), close the connection, which ends it
   * for sure. A statement that stops (57014) leaves a clean connection, reused as usual; the
   * interceptors see that outcome. Until the statement has settled, `release()` waits.
   *
   * On an aborted signal, Kysely may call {@link cancelQuery} or {@link killSession} itself
   * (`inflightQueryAbortStrategy`): then that is what happens. With Kysely's default (`ignore
   * query`), this dialect still cancels: an abandoned statement must not keep running.
   */
  #abandon(work: Promise<InterceptedResult>, compiledQuery: CompiledQuery, deadline: StatementDeadline): void {
    const pooled = this.#pooled;
    const queryId = compiledQuery.queryId?.queryId ?? '';
    let stopped = false;
    this.#abandoned += 1;
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    void settled.then(() => {
      stopped = true;
      this.#abandoned -= 1;
      if (this.#abandoned === 0 && this.#releaseDeferred) this.#giveBack();
    });
    const cancel = (): void => {
      if (stopped || this.#kyselyCanceled.has(queryId)) return;
      void this.#cancelRunning(pooled, this.#inFlight.get(queryId) ?? compiledQuery.sql, () => !stopped);
    };
    // a timeout is ours alone; on an aborted signal, give Kysely's abort handler its turn first
    if (deadline.timedOut) cancel();
    else setImmediate(cancel);
    const grace = setTimeout(() => {
      if (stopped) return;
      this.#discard ??= 'cancel-timeout';
      this.#deps.logger.warn('an abandoned statement did not stop after the cancel request; closing its connection', {
        connectionId: pooled.id,
        cancelGraceMs: this.#deps.cancelGraceMs,
      });
      // The server notices a closed client only when it next writes to it: a protocol cancel
      // request (no connection slot needed) stops the statement there if it can get through.
      const target = cancelTargetOf(pooled.client, pooled.processId);
      if (target !== undefined) void sendCancelRequest(target, this.#deps.cancelGraceMs);
      // node-postgres destroys the socket when a query is active, which settles the statement here
      pooled.client.end().catch(() => undefined);
    }, this.#deps.cancelGraceMs);
    void settled.then(() => clearTimeout(grace));
  }

  /**
   * Cancels what `pooled`'s backend runs: with `pg_cancel_backend` from a control connection,
   * aimed at `text` only, while control connections are available (at most
   * {@link ConnectionDependencies.controlSlots} at once); otherwise, or when the control connection
   * cannot be opened (e.g. `53300`), with the protocol's cancel request, which needs no slot.
   */
  async #cancelRunning(pooled: PooledConnection, text: string, stillWanted: () => boolean): Promise<void> {
    const logger = this.#deps.logger;
    const pid = pooled.processId;
    if (pid === undefined) return;
    const slots = this.#deps.controlSlots;
    if (slots.tryTake()) {
      try {
        await runControlStatement(
          () => this.#deps.pool.openClient({ applicationName: this.#deps.controlApplicationName, like: pooled.client }),
          { sql: CANCEL_IF_RUNNING, parameters: [pid, text], stillWanted },
          logger,
        );
        return;
      } catch (error) {
        logger.debug('could not cancel with pg_cancel_backend; sending a protocol cancel request', {
          connectionId: pooled.id,
          error: describeError(error),
        });
      } finally {
        slots.release();
      }
    }
    const target = cancelTargetOf(pooled.client, pid);
    if (target !== undefined && stillWanted()) await sendCancelRequest(target, this.#deps.cancelGraceMs);
  }

  /**
   * Kysely answers an aborted stream at once but releases the connection only when the cursor
   * read in flight settles: cancel that read on the server (and close the connection if it does
   * not stop within `cancelGraceMs`), as for an abandoned statement.
   */
  #cancelStreamOnAbort(signal: AbortSignal | undefined, sql: string): { dispose(): void } {
    if (signal === undefined) return { dispose: () => undefined };
    const pooled = this.#pooled;
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (done) return;
      void this.#cancelRunning(pooled, sql, () => !done);
      grace = setTimeout(() => {
        if (done) return;
        this.#discard ??= 'cancel-timeout';
        this.#deps.logger.warn('an aborted stream did not stop after the cancel request; closing its connection', {
          connectionId: pooled.id,
          cancelGraceMs: this.#deps.cancelGraceMs,
        });
        pooled.client.end().catch(() => undefined);
      }, this.#deps.cancelGraceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return {
      dispose: () => {
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (grace !== undefined) clearTimeout(grace);
      },
    };
  }

  /** Whether this lease may still run a statement that is to be retried (not in a transaction, not released). */
  #mayRetry(): boolean {
    return !this.#released && !this.#detached && !inTransactionBlock(this.#client);
  }

  #mayRetryRead(error: unknown, deadline: StatementDeadline | undefined): boolean {
    if (deadline?.fired || this.#released || this.#detached) return false;
    if (typeof error === 'object' && error !== null && finalErrors.has(error)) return false;
    if (isFatalConnectionError(error) || this.#pooled.broken) return true;
    return classifyError(error).kind === 'serialization';
  }

  /** Before a retried read: a dead connection goes back to the pool (destroyed) and a new lease replaces it. */
  async #replaceIfDead(deadline: StatementDeadline | undefined): Promise<void> {
    const dead = this.#fatalError !== undefined || this.#discard !== undefined || this.#pooled.broken;
    if (!dead) return;
    const old = this.#pooled;
    const error = this.#fatalError ?? new ConnectionDiscardedError(this.#discard ?? 'replacement-failed');
    this.#detached = true;
    old.release(error);
    let next: PooledConnection;
    try {
      next = await this.#deps.acquire(deadline?.signal);
    } catch (acquireError) {
      throw markFinal(acquireError);
    }
    if (this.#released) {
      next.release();
      throw markFinal(new Error('the connection was released while a replacement was being acquired'));
    }
    this.#pooled = next;
    this.#client = next.client;
    this.#session = this.#deps.sessionOf(next);
    this.#fatalError = undefined;
    this.#discard = undefined;
    this.#detached = false;
  }

  #logFailure(error: unknown, compiledQuery: CompiledQuery, attempt: number, durationMs: number): void {
    logStatementFailure(this.#deps.logger, error, compiledQuery, { attempt, durationMs, connectionId: this.id });
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
    if (this.#detached) return new ConnectionDiscardedError('replacement-failed');
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
