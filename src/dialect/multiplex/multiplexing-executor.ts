import {
  DefaultQueryExecutor,
  type AbortableOperationOptions,
  type AbortableQueryOptions,
  type CompiledQuery,
  type ConnectionProvider,
  type DatabaseConnection,
  type DialectAdapter,
  type KyselyPlugin,
  type QueryCompiler,
  type QueryExecutor,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
} from 'kysely';
import { performance } from 'node:perf_hooks';
import type { SlowStatements } from './slow-statements.js';
import { routeOf } from './statement-route.js';

/** Where the executor sends what it decides to share, and where it counts its decisions. */
export interface SharedStatementRunner {
  /** Runs one statement on a shared connection. */
  executeShared<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>>;
  /** Counts one statement sent to an exclusive connection by the executor's routing. */
  countExclusive(): void;
  /** Texts found slow on a shared connection, which run on exclusive connections instead. */
  readonly slowStatements: SlowStatements;
}

/**
 * Kysely's `QueryExecutor` with multiplexing: `executeQuery` of a single statement that may share
 * a connection ({@link routeOf}), carries no `AbortSignal` and was not found slow on a shared
 * connection ({@link SlowStatements}) goes to the shared connections;
 * everything else (a statement that changes the session, a signal to honour, streams, transactions,
 * `db.connection()`) runs as Kysely runs it, on an exclusive connection. Transactions and
 * `db.connection()` get a plain executor bound to their connection (`withConnectionProvider`), so
 * nothing inside them is ever multiplexed.
 *
 * Plugins are applied as Kysely applies them on both paths (`transformQuery` when the query is
 * built, `transformResult` on every result).
 */
export class MultiplexingQueryExecutor implements QueryExecutor {
  readonly #exclusive: QueryExecutor;
  readonly #shared: QueryExecutor;
  readonly #compiler: QueryCompiler;
  readonly #runner: SharedStatementRunner;
  readonly #sharedConnection: DatabaseConnection;
  /** The shared connection itself when there is no Kysely plugin: no result to transform, so no executor in between. */
  readonly #direct: DatabaseConnection | undefined;

  /**
   * @param exclusive Kysely's own executor (its connections come through Kysely's runtime driver)
   * @param compiler the dialect's query compiler
   * @param runner the driver's shared execution
   * @param sharedConnection the connection object the shared path hands to Kysely (see {@link sharedConnectionOf})
   */
  constructor(exclusive: QueryExecutor, compiler: QueryCompiler, runner: SharedStatementRunner, sharedConnection: DatabaseConnection) {
    this.#exclusive = exclusive;
    this.#compiler = compiler;
    this.#runner = runner;
    this.#sharedConnection = sharedConnection;
    const provider: ConnectionProvider = {
      provideConnection: <T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> => consumer(sharedConnection),
    };
    this.#shared = new DefaultQueryExecutor(compiler, exclusive.adapter, provider, [...exclusive.plugins]);
    this.#direct = exclusive.plugins.length === 0 ? sharedConnection : undefined;
  }

  get adapter(): DialectAdapter {
    return this.#exclusive.adapter;
  }

  get plugins(): readonly KyselyPlugin[] {
    return this.#exclusive.plugins;
  }

  transformQuery<T extends RootOperationNode>(node: T, queryId: QueryId): T {
    return this.#exclusive.transformQuery(node, queryId);
  }

  compileQuery<R = unknown>(node: RootOperationNode, queryId: QueryId): CompiledQuery<R> {
    return this.#exclusive.compileQuery<R>(node, queryId);
  }

  provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>, options?: AbortableOperationOptions): Promise<T> {
    return this.#exclusive.provideConnection(consumer, options);
  }

  executeQuery<R>(compiledQuery: CompiledQuery<R>, options?: AbortableQueryOptions): Promise<QueryResult<R>> {
    if (options?.signal === undefined && routeOf(compiledQuery) === 'shared') {
      const slow = this.#runner.slowStatements;
      if (!slow.has(compiledQuery.sql)) {
        return this.#direct === undefined ? this.#shared.executeQuery(compiledQuery) : this.#direct.executeQuery<R>(compiledQuery);
      }
      // learned slow: exclusive, timed, so that it comes back to sharing once it is fast again
      this.#runner.countExclusive();
      const started = performance.now();
      const note = (): void => slow.noteExclusive(compiledQuery.sql, performance.now() - started);
      const running = this.#exclusive.executeQuery(compiledQuery, options);
      void running.then(note, note);
      return running;
    }
    this.#runner.countExclusive();
    return this.#exclusive.executeQuery(compiledQuery, options);
  }

  stream<R>(compiledQuery: CompiledQuery<R>, chunkSize: number, options?: AbortableOperationOptions): AsyncIterableIterator<QueryResult<R>> {
    return this.#exclusive.stream(compiledQuery, chunkSize, options);
  }

  withConnectionProvider(connectionProvider: ConnectionProvider): QueryExecutor {
    return this.#exclusive.withConnectionProvider(connectionProvider);
  }

  withPlugin(plugin: KyselyPlugin): QueryExecutor {
    return this.#with(this.#exclusive.withPlugin(plugin));
  }

  withPlugins(plugins: readonly KyselyPlugin[]): QueryExecutor {
    return this.#with(this.#exclusive.withPlugins(plugins));
  }

  withPluginAtFront(plugin: KyselyPlugin): QueryExecutor {
    return this.#with(this.#exclusive.withPluginAtFront(plugin));
  }

  withoutPlugins(): QueryExecutor {
    return this.#with(this.#exclusive.withoutPlugins());
  }

  #with(exclusive: QueryExecutor): QueryExecutor {
    return new MultiplexingQueryExecutor(exclusive, this.#compiler, this.#runner, this.#sharedConnection);
  }
}
