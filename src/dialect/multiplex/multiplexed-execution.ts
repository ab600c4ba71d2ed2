import type { CompiledQuery, QueryResult } from 'kysely';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { AmbiguousOutcomeError } from '../../errors/ambiguous-outcome-error.js';
import { MAX_BIND_PARAMETERS, TooManyParametersError } from '../../errors/too-many-parameters-error.js';
import type { Logger } from '../../observability/logger.js';
import { isFatalConnectionError } from '../../pool/fatal-error.js';
import { isReadOnlyQuery } from '../../resilience/read-only-query.js';
import type { RetryEvent, RetryPolicy } from '../../resilience/retry-policy.js';
import type { InterceptedResult } from '../interceptor.js';
import type { InterceptorChain } from '../interceptor-chain.js';
import { queryNamed } from '../named-query.js';
import { operationOf } from '../query-operation.js';
import { QueryContextImpl } from '../query-context.js';
import { toKyselyResult } from '../query-result.js';
import { withCallerFrames } from '../stack-trace.js';
import { StatementDeadline } from '../statement-deadline.js';
import { logStatementFailure } from '../statement-failure-log.js';
import type { SharedConnection } from './shared-connection.js';
import { cancelTargetOf, sendCancelRequest } from '../cancel-request.js';
import { ConnectionDiscardedError } from '../connection-discarded-error.js';
import type { SharedConnectionSet } from './shared-connection-set.js';
import type { SlowStatements } from './slow-statements.js';

/** What {@link MultiplexedExecution} needs from the driver. */
export interface MultiplexedExecutionDependencies {
  readonly connections: SharedConnectionSet;
  readonly chain: InterceptorChain | undefined;
  readonly retry: RetryPolicy;
  readonly reportRetry: (event: RetryEvent, details: Record<string, unknown>) => void;
  readonly logger: Logger;
  /** Client deadline of every statement in milliseconds; 0 for none. */
  readonly queryTimeoutMs: number;
  /** How long a statement abandoned at its deadline may still run before its shared connection is closed. */
  readonly cancelGraceMs: number;
  /** Where texts found slow on a shared connection are remembered. */
  readonly slow: SlowStatements;
}

/** Messages of node-postgres for a query refused before anything was written (the client was already dead or closed). */
const NEVER_SENT_MESSAGES: readonly string[] = [
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

function neverSent(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && NEVER_SENT_MESSAGES.includes(message);
}

/** The connection died under the statement: the connection's own error, remembered for the retry decision. */
const connectionLost = new WeakSet<object>();

function markLost(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) connectionLost.add(error);
  return error;
}

function isLost(error: unknown): boolean {
  return typeof error === 'object' && error !== null && connectionLost.has(error);
}

/** The context of a statement on a shared connection: which one, and when it was written. */
class SharedStatementContext extends QueryContextImpl {
  readonly connection: SharedConnection;
  /** `performance.now()` when the statement was written; `undefined` while (or if never, e.g. an interceptor answered it) not. */
  sentAt: number | undefined = undefined;

  constructor(compiledQuery: CompiledQuery, connection: SharedConnection) {
    super({ compiledQuery, mode: 'execute', session: connection.session, inTransaction: false, signal: undefined });
    this.connection = connection;
  }
}

/** The statement at the centre of the chain, sent on the shared connection of its context. */
async function sendShared(ctx: QueryContextImpl): Promise<InterceptedResult> {
  try {
    if (ctx.parameters.length > MAX_BIND_PARAMETERS) throw new TooManyParametersError(ctx.parameters.length);
    const client = ctx.session.client;
    if (ctx instanceof SharedStatementContext) {
      const now = performance.now();
      ctx.sentAt = now;
      ctx.connection.sent(now);
    }
    const raw =
      ctx.statementName === undefined
        ? await client.query(ctx.sql, ctx.parameters as unknown[])
        : await queryNamed(client, ctx.statementName, ctx.sql, ctx.parameters as unknown[]);
    const result = toKyselyResult<unknown>(raw);
    ctx.settle(result.rows.length, true);
    return result;
  } catch (error) {
    ctx.settle(undefined, true);
    throw error;
  }
}

/**
 * Runs single statements on the shared connections (docs/multiplexing.md): through the
 * interceptor chain like any statement (with the shared connection's session, so the statement
 * cache prepares per physical connection), bounded by the client deadline.
 *
 * - A statement whose connection died is retried on another shared connection when that is safe:
 *   a read ({@link isReadOnlyQuery}) under the retry policy, or any statement node-postgres refused
 *   before writing it. Any other statement fails with {@link AmbiguousOutcomeError}: it may have
 *   been applied, and is never sent twice.
 * - At the client deadline the caller gets `QueryTimeoutError` at once. The statement is not
 *   canceled (a cancel request reaches whatever the backend runs at that moment, which may be a
 *   neighbour's statement): it runs to its end or to the server's `statement_timeout`, and its
 *   connection takes no new statements until it is done.
 */
export class MultiplexedExecution {
  readonly #deps: MultiplexedExecutionDependencies;

  constructor(deps: MultiplexedExecutionDependencies) {
    this.#deps = deps;
  }

  async execute<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const timeoutMs = this.#deps.queryTimeoutMs;
    const deadline = timeoutMs > 0 ? new StatementDeadline(timeoutMs, undefined) : undefined;
    try {
      if (this.#deps.retry.options.maxAttempts > 1) {
        return (await this.#deps.retry.execute((attempt) => this.#attempt(compiledQuery, deadline, attempt), {
          reason: 'read',
          shouldRetry: (error) => isLost(error) && deadline?.fired !== true && (neverSent(error) || isReadOnlyQuery(compiledQuery.query)),
          onRetry: (event) => this.#deps.reportRetry(event, { queryId: compiledQuery.queryId?.queryId, operation: operationOf(compiledQuery.query, compiledQuery.sql), connection: 'shared' }),
          signal: deadline?.signal,
        })) as QueryResult<R>;
      }
      return (await this.#attempt(compiledQuery, deadline, 1)) as QueryResult<R>;
    } catch (error) {
      if (isLost(error) && !neverSent(error) && !isReadOnlyQuery(compiledQuery.query)) {
        throw new AmbiguousOutcomeError(operationOf(compiledQuery.query, compiledQuery.sql), error);
      }
      throw error;
    } finally {
      deadline?.dispose();
    }
  }

  async #attempt(compiledQuery: CompiledQuery, deadline: StatementDeadline | undefined, attempt: number): Promise<InterceptedResult> {
    const connections = this.#deps.connections;
    // waiting for a connection with room counts against the deadline too
    const taken = connections.take(deadline?.signal);
    const connection = taken instanceof Promise ? await taken : taken;
    if (deadline?.fired === true) {
      // handed a connection as the deadline fired: nothing was sent
      connections.finish(connection);
      throw deadline.signal.reason as Error;
    }
    const started = performance.now();
    connection.batchWrites();
    const ctx = new SharedStatementContext(compiledQuery, connection);
    const chain = this.#deps.chain;
    const work = chain === undefined ? sendShared(ctx) : chain.execute(ctx, sendShared);
    // the connection's count drops when the statement really settles, not when its caller leaves
    const settled = (): void => {
      const sent = ctx.sentAt;
      // only a statement that reached the server tells how long it kept the connection
      const serviceMs = sent === undefined ? 0 : connection.answered(sent, performance.now());
      if (sent !== undefined && this.#deps.slow.noteShared(compiledQuery.sql, serviceMs)) {
        this.#deps.logger.debug('statement found slow on a shared connection: its text runs on exclusive connections from now on', {
          connectionId: connection.pooled.id,
          serviceMs: Math.round(serviceMs * 1000) / 1000,
          slowStatementMs: this.#deps.slow.slowMs,
          queryId: compiledQuery.queryId?.queryId,
        });
      }
      connections.finish(connection);
    };
    void work.then(settled, settled);
    try {
      if (deadline === undefined) return await work;
      return await deadline.race(work, () => this.#abandon(connection, work));
    } catch (error) {
      if (!deadline?.fired) {
        // A server's answer to the statement itself (a constraint violation…) is definite even on a
        // connection that broke right after: only a connection failure leaves the outcome unknown.
        if (isFatalConnectionError(error) || (connection.pooled.broken && !(error instanceof pg.DatabaseError))) markLost(error);
        if (isLost(error) || connection.pooled.broken) connections.kill(connection, error);
      }
      logStatementFailure(this.#deps.logger, error, compiledQuery, {
        attempt,
        durationMs: performance.now() - started,
        connectionId: connection.pooled.id,
        connection: 'shared',
      });
      throw withCallerFrames(error, new Error());
    }
  }

  /**
   * The caller left at its deadline: the connection takes no new statements. If the statement is
   * still unanswered `cancelGraceMs` later, the connection is closed (with a protocol cancel request
   * for its backend, which by then can only be running that statement or one queued behind it, all
   * of them stuck as long): a swallowed connection must not hold its statements forever.
   */
  #abandon(connection: SharedConnection, work: Promise<InterceptedResult>): void {
    const connections = this.#deps.connections;
    connections.retire(connection);
    let done = false;
    const grace = setTimeout(() => {
      if (done || connection.state === 'gone') return;
      this.#deps.logger.warn('a statement abandoned at its deadline did not finish within cancelGraceMs; closing its shared connection', {
        connectionId: connection.pooled.id,
        slot: connection.slot,
        inFlight: connection.inFlight,
        cancelGraceMs: this.#deps.cancelGraceMs,
      });
      const target = cancelTargetOf(connection.pooled.client, connection.pooled.processId);
      if (target !== undefined) void sendCancelRequest(target, this.#deps.cancelGraceMs);
      connections.kill(connection, new ConnectionDiscardedError('cancel-timeout'));
    }, this.#deps.cancelGraceMs);
    const stop = (): void => {
      done = true;
      clearTimeout(grace);
    };
    work.then(stop, stop);
  }

}
