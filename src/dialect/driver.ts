import {
  AbortedTransactionError,
  CompiledQuery,
  createQueryId,
  IdentifierNode,
  RawNode,
  type AbortableOperationOptions,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import { describeError } from '../observability/describe-error.js';
import { safeLogger } from '../pool/safe-hooks.js';
import type { Logger } from '../observability/logger.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { ResilienceObserver, TransactionOutcome } from '../resilience/resilience-observer.js';
import type { RetryPolicy } from '../resilience/retry-policy.js';
import { ConnectionSource } from './connection-source.js';
import { ConnectionDiscardedError } from './connection-discarded-error.js';
import { classifyError } from '../resilience/classify-error.js';
import type { InstrumentedPool, PooledConnection } from '../pool/instrumented-pool.js';
import { PostgresConnection, type ConnectionDependencies, type ControlSlots } from './connection.js';
import type { InterceptorChain } from './interceptor-chain.js';
import type { ConnectionSession } from './query-context.js';
import type { ResolvedMultiplexOptions } from './multiplex/multiplex-options.js';
import { MultiplexedExecution } from './multiplex/multiplexed-execution.js';
import { SharedConnectionSet } from './multiplex/shared-connection-set.js';
import { SlowStatements } from './multiplex/slow-statements.js';
import type { MultiplexStats } from './multiplex/multiplex-stats.js';
import type { SharedStatementRunner } from './multiplex/multiplexing-executor.js';

/** Where the driver gets its pool, and whether it owns it. */
export interface PoolSource {
  /** Resolves the pool; called once, on the first use of the driver. */
  readonly open: () => Promise<InstrumentedPool>;
  /** Whether `destroy()` closes the pool (true when the dialect created it). */
  readonly owned: boolean;
}

/** Retries, breaker and deadlines of a driver, resolved by `createDialect`. */
export interface DriverResilience {
  readonly retry: RetryPolicy;
  /** `undefined`: no breaker. A function: the breaker is made for the pool once it is known (it is named after it). */
  readonly breaker: CircuitBreaker | ((pool: InstrumentedPool) => CircuitBreaker) | undefined;
  readonly queryTimeoutMs: number;
  readonly cancelGraceMs: number;
  readonly observer: ResilienceObserver | undefined;
}

/** Settings of a {@link PostgresPoolDriver}. */
export interface PostgresPoolDriverOptions {
  readonly source: PoolSource;
  readonly chain: InterceptorChain | undefined;
  readonly logger: Logger;
  readonly resilience: DriverResilience;
  /** Multiplexed execution (used through `MultiplexingQueryExecutor`), or `undefined` for none. */
  readonly multiplex?: ResolvedMultiplexOptions | undefined;
}

type SavepointCommand = 'savepoint' | 'rollback to' | 'release';

/** Most control connections (for cancels at deadlines) one driver opens at once; beyond, protocol cancel requests. */
const MAX_CONTROL_CONNECTIONS = 4;

function controlSlots(limit: number): ControlSlots {
  let used = 0;
  return {
    tryTake: () => {
      if (used >= limit) return false;
      used += 1;
      return true;
    },
    release: () => {
      used = Math.max(0, used - 1);
    },
  };
}

function asOurs(connection: DatabaseConnection): PostgresConnection {
  if (!(connection instanceof PostgresConnection)) {
    throw new TypeError('the connection was not created by this driver');
  }
  return connection;
}

/**
 * Kysely `Driver` over an {@link InstrumentedPool}: transactions, savepoints, and release with
 * the error so that broken connections are destroyed rather than reused.
 */
export class PostgresPoolDriver implements Driver, SharedStatementRunner {
  readonly #options: PostgresPoolDriverOptions;
  readonly #sessions = new WeakMap<pg.PoolClient, ConnectionSession>();
  #pool: InstrumentedPool | undefined;
  /** What every connection shares; built once the pool is known. */
  #shared: ConnectionDependencies | undefined;
  #connections: ConnectionSource | undefined;
  #breaker: CircuitBreaker | undefined;
  /** When each open transaction began (`performance.now()`). */
  readonly #transactionStarts = new WeakMap<PostgresConnection, number>();
  #destroyed = false;
  /** The shared connections and their execution, with multiplexing on, once initialized. */
  #multiplexed: { readonly connections: SharedConnectionSet; readonly execution: MultiplexedExecution } | undefined;
  #multiplexedCount = 0;
  #exclusiveCount = 0;
  readonly #slowStatements: SlowStatements;

  constructor(options: PostgresPoolDriverOptions) {
    // a throwing logger must never crash a timer callback or leave a connection unreleased
    this.#options = Object.freeze({ ...options, logger: safeLogger(options.logger) });
    this.#slowStatements = new SlowStatements(options.multiplex?.slowStatementMs ?? Number.POSITIVE_INFINITY);
  }

  /** Texts found slow on a shared connection (multiplexing), which run on exclusive connections. */
  get slowStatements(): SlowStatements {
    return this.#slowStatements;
  }

  async init(_options?: AbortableOperationOptions): Promise<void> {
    if (this.#destroyed) throw new Error('the driver has been destroyed');
    if (this.#pool !== undefined) return;
    const pool = await this.#options.source.open();
    if (this.#pool !== undefined) return;
    this.#pool = pool;
    const { resilience, logger } = this.#options;
    const breaker = typeof resilience.breaker === 'function' ? resilience.breaker(pool) : resilience.breaker;
    this.#breaker = breaker;
    const connections = new ConnectionSource(pool, resilience.retry, breaker, logger, resilience.observer);
    this.#connections = connections;
    this.#shared = Object.freeze({
      chain: this.#options.chain,
      pool,
      controlApplicationName: `${pool.config.applicationName} (control)`,
      logger,
      retry: resilience.retry,
      acquire: (signal: AbortSignal | undefined) => connections.acquire(signal),
      sessionOf: (pooled: PooledConnection) => this.#session(pooled),
      reportRetry: (event, details) => connections.reportRetry(event, details),
      queryTimeoutMs: resilience.queryTimeoutMs,
      cancelGraceMs: resilience.cancelGraceMs,
      controlSlots: controlSlots(Math.min(MAX_CONTROL_CONNECTIONS, pool.config.maxConns)),
    } satisfies ConnectionDependencies);
    const multiplex = this.#options.multiplex;
    if (multiplex !== undefined) {
      const shared = new SharedConnectionSet({
        options: multiplex,
        acquire: () => connections.acquire(undefined),
        sessionOf: (pooled) => this.#session(pooled),
        poolWaiting: () => pool.waiting,
        keepUnderPressure: pool.config.maxConns > 1 ? 1 : 0,
        logger,
        poolName: pool.name,
      });
      const execution = new MultiplexedExecution({
        connections: shared,
        chain: this.#options.chain,
        retry: resilience.retry,
        reportRetry: (event, details) => connections.reportRetry(event, details),
        logger,
        queryTimeoutMs: resilience.queryTimeoutMs,
        cancelGraceMs: resilience.cancelGraceMs,
        slow: this.#slowStatements,
      });
      this.#multiplexed = Object.freeze({ connections: shared, execution });
    }
  }

  /**
   * Runs one statement on a shared, pipelined connection (multiplexing must be configured). Called
   * by `MultiplexingQueryExecutor` for the statements it routes there; initializes the driver on
   * first use.
   */
  executeShared<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const multiplexed = this.#multiplexed;
    if (multiplexed === undefined) return this.#initThenExecuteShared<R>(compiledQuery);
    this.#multiplexedCount += 1;
    return multiplexed.execution.execute<R>(compiledQuery);
  }

  async #initThenExecuteShared<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#destroyed) throw new Error('the driver has been destroyed');
    await this.init();
    const multiplexed = this.#multiplexed;
    if (multiplexed === undefined) throw new Error('multiplexing is not configured on this driver');
    this.#multiplexedCount += 1;
    return multiplexed.execution.execute<R>(compiledQuery);
  }

  /** Counts a single statement that the multiplexing executor sent to an exclusive connection. */
  countExclusive(): void {
    this.#exclusiveCount += 1;
  }

  /** Multiplexing counters and depths, or `undefined` without multiplexing. */
  multiplexStats(): MultiplexStats | undefined {
    if (this.#options.multiplex === undefined) return undefined;
    const shared = this.#multiplexed?.connections;
    return Object.freeze({
      multiplexed: this.#multiplexedCount,
      exclusive: this.#exclusiveCount,
      inFlight: Object.freeze(shared?.inFlightBySlot() ?? new Array<number>(this.#options.multiplex.connections).fill(0)),
      connections: shared?.lent ?? 0,
      waiting: shared?.waiting ?? 0,
      slowTexts: this.#slowStatements.size,
    });
  }

  /** The circuit breaker guarding acquisition, once the driver is initialized (if it has one). */
  get breaker(): CircuitBreaker | undefined {
    return this.#breaker;
  }

  async acquireConnection(options?: AbortableOperationOptions): Promise<DatabaseConnection> {
    const connections = this.#connections;
    const shared = this.#shared;
    if (connections === undefined || shared === undefined || this.#destroyed) {
      throw new Error('the driver is not initialized or has been destroyed');
    }
    const multiplexed = this.#multiplexed;
    if (multiplexed !== undefined && this.#pool !== undefined) {
      // the pool is full: shared connections go back to it rather than make this caller wait
      const { active, max } = this.#pool.stats();
      if (active >= max) multiplexed.connections.yieldToExclusive();
    }
    const pooled = await connections.acquire(options?.signal);
    if (this.#destroyed) {
      pooled.release();
      throw new Error('the driver was destroyed while a connection was being acquired');
    }
    return new PostgresConnection(pooled, this.#session(pooled), shared);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const ours = asOurs(connection);
    let sql = 'begin';
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined) {
      const parts = ['start transaction'];
      if (settings.isolationLevel !== undefined) parts.push(`isolation level ${settings.isolationLevel}`);
      if (settings.accessMode !== undefined) parts.push(settings.accessMode);
      sql = parts.join(' ');
    }
    await ours.executeQuery(CompiledQuery.raw(sql));
    this.#transactionStarts.set(ours, performance.now());
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const ours = asOurs(connection);
    let rows: { command?: string }[];
    try {
      ({ rows } = await ours.executeQuery<{ command?: string }>(CompiledQuery.raw('commit')));
    } catch (error) {
      // An error the server reports to COMMIT (40001, a deferred constraint…) means it rolled back, as
      // does a COMMIT refused before sending (the lease was discarded: closing it ends the
      // transaction); only a connection lost while COMMIT was out leaves the outcome unknown.
      const unknown = classifyError(error).kind === 'connection' && !(error instanceof ConnectionDiscardedError);
      this.#transactionEnded(ours, unknown ? 'failed' : 'rollback');
      throw error;
    }
    // The server answers COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if (rows[0]?.command === 'ROLLBACK') {
      this.#transactionEnded(ours, 'rollback');
      throw new AbortedTransactionError();
    }
    this.#transactionEnded(ours, 'commit');
  }

  /**
   * Rolls back. If ROLLBACK itself fails (e.g. the connection is gone), the connection is discarded
   * (closed on release, which ends the transaction on the server: it cannot commit any more) and
   * the failure is logged, not thrown, so that Kysely rethrows the error that made it roll back
   * rather than this one.
   */
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const ours = asOurs(connection);
    try {
      // a connection already known dead cannot roll back; closing it ends the transaction
      if (ours.discarded) return;
      await ours.executeQuery(CompiledQuery.raw('rollback'));
    } catch (error) {
      // Whatever the server's transaction status says now, the rollback may or may not have
      // happened (e.g. it ran and its answer was lost): never reuse the session.
      ours.discard('rollback-failed');
      this.#options.logger.warn('rollback failed; the connection is closed instead, which ends the transaction', {
        connectionId: ours.id,
        error: describeError(error),
      });
    } finally {
      this.#transactionEnded(ours, 'rollback');
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#savepointCommand(connection, 'savepoint', name, compileQuery);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#savepointCommand(connection, 'rollback to', name, compileQuery);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#savepointCommand(connection, 'release', name, compileQuery);
  }

  async releaseConnection(connection: DatabaseConnection, _options?: AbortableOperationOptions): Promise<void> {
    asOurs(connection).release();
  }

  #transactionEnded(connection: PostgresConnection, outcome: TransactionOutcome): void {
    const started = this.#transactionStarts.get(connection);
    if (started === undefined) return;
    this.#transactionStarts.delete(connection);
    const observer = this.#options.resilience.observer;
    if (observer?.onTransaction === undefined) return;
    try {
      observer.onTransaction({ outcome, durationSeconds: (performance.now() - started) / 1000, connectionId: connection.id });
    } catch {
      // an observer must not change the outcome
    }
  }

  async destroy(_options?: AbortableOperationOptions): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    this.#shared = undefined;
    this.#connections?.dispose();
    this.#connections = undefined;
    const multiplexed = this.#multiplexed;
    this.#multiplexed = undefined;
    // Shared connections go back to the pool as their statements finish; closing the pool waits for
    // them like for any borrowed connection (up to its close timeout, then it terminates them).
    if (multiplexed !== undefined) void multiplexed.connections.close();
    if (pool !== undefined && this.#options.source.owned) await pool.close();
  }

  async #savepointCommand(
    connection: DatabaseConnection,
    command: SavepointCommand,
    name: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    // The identifier node makes the compiler quote the name, exactly as Kysely's own dialect does.
    const node = RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
    await asOurs(connection).executeQuery(compileQuery(node, createQueryId()));
  }

  #session(pooled: PooledConnection): ConnectionSession {
    let session = this.#sessions.get(pooled.client);
    if (session === undefined) {
      session = Object.freeze({
        id: pooled.id,
        processId: pooled.processId,
        state: pooled.state,
        client: pooled.client,
      });
      this.#sessions.set(pooled.client, session);
    }
    return session;
  }
}
