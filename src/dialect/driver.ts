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
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { InstrumentedPool, PooledConnection } from '../pool/instrumented-pool.js';
import { PostgresConnection, type ConnectionDependencies } from './connection.js';
import type { InterceptorChain } from './interceptor-chain.js';
import type { ConnectionSession } from './query-context.js';

/** Where the driver gets its pool, and whether it owns it. */
export interface PoolSource {
  /** Resolves the pool; called once, on the first use of the driver. */
  readonly open: () => Promise<InstrumentedPool>;
  /** Whether `destroy()` closes the pool (true when the dialect created it). */
  readonly owned: boolean;
}

/** Settings of a {@link PostgresPoolDriver}. */
export interface PostgresPoolDriverOptions {
  readonly source: PoolSource;
  readonly chain: InterceptorChain | undefined;
  readonly logger: Logger;
}

type SavepointCommand = 'savepoint' | 'rollback to' | 'release';

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
export class PostgresPoolDriver implements Driver {
  readonly #options: PostgresPoolDriverOptions;
  readonly #sessions = new WeakMap<pg.PoolClient, ConnectionSession>();
  #pool: InstrumentedPool | undefined;
  /** What every connection shares; built once the pool is known. */
  #shared: ConnectionDependencies | undefined;
  #destroyed = false;

  constructor(options: PostgresPoolDriverOptions) {
    this.#options = Object.freeze({ ...options });
  }

  async init(_options?: AbortableOperationOptions): Promise<void> {
    if (this.#destroyed) throw new Error('the driver has been destroyed');
    if (this.#pool !== undefined) return;
    const pool = await this.#options.source.open();
    if (this.#pool !== undefined) return;
    this.#pool = pool;
    this.#shared = Object.freeze({
      chain: this.#options.chain,
      pool,
      controlApplicationName: `${pool.config.applicationName} (control)`,
      logger: this.#options.logger,
    });
  }

  async acquireConnection(options?: AbortableOperationOptions): Promise<DatabaseConnection> {
    const pool = this.#pool;
    const shared = this.#shared;
    if (pool === undefined || shared === undefined || this.#destroyed) {
      throw new Error('the driver is not initialized or has been destroyed');
    }
    const pooled = await pool.acquire(options?.signal === undefined ? undefined : { signal: options.signal });
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
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const ours = asOurs(connection);
    const { rows } = await ours.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'));
    // The server answers COMMIT with a ROLLBACK tag when an earlier error aborted the transaction.
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const ours = asOurs(connection);
    try {
      await ours.executeQuery(CompiledQuery.raw('rollback'));
    } catch (error) {
      // Whatever the server's transaction status says now, the rollback may or may not have
      // happened (e.g. it ran and its answer was lost): never reuse the session.
      ours.discard('rollback-failed');
      throw error;
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

  async destroy(_options?: AbortableOperationOptions): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    this.#shared = undefined;
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
