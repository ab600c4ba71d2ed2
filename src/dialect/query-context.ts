import { performance } from 'node:perf_hooks';
import type { CompiledQuery, RootOperationNode } from 'kysely';
import type pg from 'pg';
import { operationOf, type QueryOperation } from './query-operation.js';
import { tablesOf } from './query-tables.js';

/**
 * One physical connection as plugins see it. The same object is handed to every query that runs on
 * that connection, for as long as the connection lives, so per-connection plugin state (e.g. the
 * statement cache's LRU of prepared statement names) belongs in {@link ConnectionSession.state}.
 */
export interface ConnectionSession {
  /** Pool-unique id of the connection. */
  readonly id: number;
  /** The server's backend process id, when known. */
  readonly processId: number | undefined;
  /**
   * Plugin state that lives as long as the physical connection, shared with every dialect and
   * Kysely instance on the same pool (it is `PooledConnection.state`). Key it by a symbol or the
   * plugin's name.
   */
  readonly state: Map<string | symbol, unknown>;
  /**
   * The node-postgres client, for plugins that must manage the session itself (e.g. `DEALLOCATE`
   * of prepared statements). Never release or end it; statements sent on it bypass the interceptors.
   */
  readonly client: pg.PoolClient;
}

/** How the statement is being run: to completion, or through a cursor in chunks. */
export type QueryMode = 'execute' | 'stream';

/**
 * Everything known about one statement while it runs through the interceptor chain. A new context
 * is made per statement (including `begin`, `commit`, savepoints and Kysely's introspection
 * queries). `sql`, `parameters` and `statementName` may be changed by interceptors before they
 * call `next()`; everything else is read-only.
 */
export interface QueryContext {
  /** Kysely's id of the query (shared by the hooks of one `execute()`). */
  readonly queryId: string;
  /** Kysely's query tree after plugins ran (`RawNode` for raw SQL). Read only; never holds more than the query. */
  readonly query: RootOperationNode | undefined;
  /** `execute` for ordinary queries, `stream` for `.stream()` through a cursor. */
  readonly mode: QueryMode;
  /**
   * The SQL sent to the server. Interceptors may rewrite it (e.g. to add a comment) in `before`, or
   * in `execute` before `next()`; for a stream (which never runs `execute`), in `before`.
   */
  sql: string;
  /** Bound parameter values; writable like `sql`. Never log them: they can hold personal data and secrets. */
  parameters: readonly unknown[];
  /**
   * Name of a server-side prepared statement to use for this statement (node-postgres `name`), or
   * `undefined` for an unnamed one. A statement cache sets it; one name must only ever be used for
   * one SQL text on a connection. Ignored for streams.
   */
  statementName: string | undefined;
  /** What the statement does, from the query tree (or the SQL's leading keyword for raw SQL). Computed on first access. */
  readonly operation: QueryOperation;
  /** Tables the statement works on (target first), from the query tree; empty for raw SQL. Computed on first access. */
  readonly tables: readonly string[];
  /** Pool-unique id of the connection the statement runs on. */
  readonly connectionId: number;
  /** The connection, with its long-lived plugin state. */
  readonly session: ConnectionSession;
  /** True when the statement runs inside an open (or failed) transaction block, as the server last reported it. */
  readonly inTransaction: boolean;
  /** When the statement entered the chain, in milliseconds since the epoch. */
  readonly startTime: number;
  /** Milliseconds from entering the chain until the statement settled; set in `after` and `error`, `undefined` before. */
  readonly durationMs: number | undefined;
  /** Rows returned to the caller (all chunks of a stream); set in `after`. */
  readonly rowCount: number | undefined;
  /** The caller's abort signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** Scratch space for interceptors, private to this statement. Key it by a symbol or the plugin's name. */
  readonly state: Map<string | symbol, unknown>;
}

/** What the connection knows when it builds a context. */
export interface QueryContextInit {
  readonly compiledQuery: CompiledQuery;
  readonly mode: QueryMode;
  readonly session: ConnectionSession;
  readonly inTransaction: boolean;
  readonly signal: AbortSignal | undefined;
}

/** The chain's {@link QueryContext}; `settle` is for the chain and the connection only. */
export class QueryContextImpl implements QueryContext {
  sql: string;
  parameters: readonly unknown[];
  statementName: string | undefined = undefined;
  readonly queryId: string;
  readonly query: RootOperationNode | undefined;
  readonly mode: QueryMode;
  readonly session: ConnectionSession;
  readonly inTransaction: boolean;
  readonly signal: AbortSignal | undefined;
  readonly startTime: number;
  readonly #originalSql: string;
  readonly #startedAt: number;
  #operation: QueryOperation | undefined;
  #tables: readonly string[] | undefined;
  #state: Map<string | symbol, unknown> | undefined;
  #durationMs: number | undefined;
  #rowCount: number | undefined;

  constructor(init: QueryContextInit) {
    const { compiledQuery } = init;
    this.sql = compiledQuery.sql;
    this.#originalSql = compiledQuery.sql;
    this.parameters = compiledQuery.parameters;
    this.queryId = compiledQuery.queryId?.queryId ?? '';
    this.query = compiledQuery.query;
    this.mode = init.mode;
    this.session = init.session;
    this.inTransaction = init.inTransaction;
    this.signal = init.signal;
    this.startTime = Date.now();
    this.#startedAt = performance.now();
  }

  get operation(): QueryOperation {
    this.#operation ??= operationOf(this.query, this.#originalSql);
    return this.#operation;
  }

  get tables(): readonly string[] {
    this.#tables ??= tablesOf(this.query);
    return this.#tables;
  }

  get connectionId(): number {
    return this.session.id;
  }

  get state(): Map<string | symbol, unknown> {
    this.#state ??= new Map();
    return this.#state;
  }

  get durationMs(): number | undefined {
    return this.#durationMs;
  }

  get rowCount(): number | undefined {
    return this.#rowCount;
  }

  /**
   * Records the end of the statement. `force` (the real execution) overwrites an earlier record, so
   * that a re-run measures up to its own end; otherwise (a short-circuit) only the first call counts.
   */
  settle(rowCount: number | undefined, force: boolean): void {
    if (!force && this.#durationMs !== undefined) return;
    this.#durationMs = performance.now() - this.#startedAt;
    if (rowCount !== undefined || force) this.#rowCount = rowCount;
  }
}
