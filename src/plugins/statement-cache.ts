import { createHash } from 'node:crypto';
import pg from 'pg';
import type { InterceptedResult, QueryInterceptor, QueryNext } from '../dialect/interceptor.js';
import type { ConnectionSession, QueryContext } from '../dialect/query-context.js';
import type { QueryOperation } from '../dialect/query-operation.js';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import type { StatementCacheCounters } from '../observability/metrics.js';
import { hasMultipleStatements } from './sql-statements.js';

/** Default {@link StatementCacheOptions.capacity}: prepared statements kept per connection (pgx's default). */
export const DEFAULT_STATEMENT_CACHE_CAPACITY = 512;

/** Options of {@link statementCache}. */
export interface StatementCacheOptions {
  /**
   * Prepared statements kept per connection (least recently used first out). A positive integer;
   * default {@link DEFAULT_STATEMENT_CACHE_CAPACITY} (512, pgx's). Each one holds a parsed
   * statement (and later a plan) in the server backend's memory.
   */
  capacity?: number;
  /**
   * `false` turns the plugin into a pass-through that prepares nothing, e.g. behind PgBouncer in
   * transaction pooling mode, where consecutive statements may run on different server sessions.
   * Default `true`.
   */
  enabled?: boolean;
  /** Where hits, misses, evictions and re-prepares are counted: `metrics.statementCache(poolName)`. */
  counters?: StatementCacheCounters;
  /** Where evictions that failed and connections whose cache was turned off are reported. Silent by default. */
  logger?: Logger;
}

/** Prefix of every statement name the plugin uses (`ahdb_` + 24 hex digits of the SQL text's SHA-256). */
const NAME_PREFIX = 'ahdb_';

/** Operations that are prepared; everything else (transaction control, `set`, DDL, `other`) passes through. */
const PREPARED_OPERATIONS: ReadonlySet<QueryOperation> = new Set<QueryOperation>(['select', 'insert', 'update', 'delete', 'merge']);

/** The key of a connection's {@link ConnectionCache} in `ConnectionSession.state`. */
const STATE_KEY = Symbol('alert-history-db.statement-cache');

/** In the text → name memo: a text that is never prepared (it holds several statements). */
const UNPREPARED = '';

/**
 * Memo of text → statement name ({@link UNPREPARED} for a text that is never prepared), shared by
 * every plugin instance (the mapping is a pure function of the text). It spares the hot path the
 * SHA-256 and the multi-statement scan: a `Map` lookup costs a hash of the string (well under a
 * microsecond for a typical Kysely query), SHA-256 with the hex digest about 1–3 µs. Bounded in
 * entries and in characters held; oldest entries go first (a text pushed out is hashed again on
 * its next use, nothing more).
 */
const names = new Map<string, string>();
const MEMO_MAX_ENTRIES = 2048;
const MEMO_MAX_CHARS = 4 * 1024 * 1024;
/** Longer texts are hashed each time rather than held. */
const MEMO_MAX_TEXT = 64 * 1024;
let memoChars = 0;

function memoize(text: string, name: string): void {
  if (text.length > MEMO_MAX_TEXT) return;
  const previous = names.get(text);
  if (previous !== undefined) {
    names.set(text, name);
    return;
  }
  while (names.size >= MEMO_MAX_ENTRIES || (names.size > 0 && memoChars + text.length > MEMO_MAX_CHARS)) {
    const oldest = names.keys().next();
    if (oldest.done === true) break;
    names.delete(oldest.value);
    memoChars -= oldest.value.length;
  }
  names.set(text, name);
  memoChars += text.length;
}

/** The statement name of `text`, or {@link UNPREPARED} when it holds several statements. */
function nameOf(text: string): string {
  const known = names.get(text);
  if (known !== undefined) return known;
  const name = hasMultipleStatements(text) ? UNPREPARED : NAME_PREFIX + createHash('sha256').update(text).digest('hex').slice(0, 24);
  memoize(text, name);
  return name;
}

/**
 * node-postgres's own records of the named statements of one client (`client.connection`): it
 * sends `Parse` for a name only when neither holds it, so a record must be deleted whenever the
 * statement is gone from the server, or the name would fail with `26000` forever.
 */
interface PgStatementRecords {
  /** Statements whose `ParseComplete` arrived: name → text. */
  readonly parsed: Record<string, string | undefined>;
  /** Statements whose `Parse` was sent and not yet answered: name → text. */
  readonly submitted: Record<string, string | undefined>;
}

/** One prepared statement of a connection. */
interface CacheEntry {
  readonly text: string;
  /** The connection's {@link ConnectionCache.clock} when it was last used. */
  used: number;
}

/**
 * The plugin's state for one physical connection, in its `ConnectionSession.state`. Recency is a
 * use stamp rather than the order of a `Map` (moving a key to the end with `delete` + `set` costs
 * 1–3 µs on a 512-entry `Map`, a stamp nothing); eviction scans the entries for the oldest stamp,
 * which is cheap next to the round trip that closes it.
 */
interface ConnectionCache {
  /** Statements prepared by this plugin on the connection: name → entry. */
  readonly entries: Map<string, CacheEntry>;
  /** Counts uses on this connection. */
  clock: number;
  /** node-postgres's records, or `undefined` once the cache is off for this connection (everything passes through). */
  records: PgStatementRecords | undefined;
}

function isRecordObject(value: unknown): value is Record<string, string | undefined> {
  return typeof value === 'object' && value !== null;
}

/**
 * node-postgres's statement records of `client`, when they have the shape this plugin relies on
 * (node-postgres 8: `client.connection.parsedStatements` and `.submittedNamedStatements` objects,
 * `close`/`sync` on the connection); otherwise why not. A pipelined client (multiplexing) is fine:
 * node-postgres writes each query, and this plugin's `Close`, when it is queued, so the records
 * change in the order the server sees the messages.
 */
function pgRecordsOf(client: pg.PoolClient): PgStatementRecords | string {
  const internals = client as unknown as { connection?: unknown };
  const connection = internals.connection as Record<string, unknown> | undefined;
  if (typeof connection !== 'object' || connection === null) return 'client.connection is not an object';
  const { parsedStatements, submittedNamedStatements } = connection;
  if (!isRecordObject(parsedStatements)) return 'client.connection.parsedStatements is not an object';
  if (!isRecordObject(submittedNamedStatements)) return 'client.connection.submittedNamedStatements is not an object';
  if (typeof connection.close !== 'function' || typeof connection.sync !== 'function') return 'client.connection cannot send Close';
  return { parsed: parsedStatements, submitted: submittedNamedStatements };
}

/**
 * node-postgres's `Query`, made to send `Close` for each name then `Sync` instead of a statement.
 * A subclass of `Query` (not a plain object with `submit`): node-postgres refuses other query
 * objects on a pipelined client (multiplexing), and a `Query` is queued and written like any
 * statement. The server answers `CloseComplete` (which node-postgres ignores) and `ReadyForQuery`.
 */
class CloseStatementsQuery extends pg.Query {
  readonly #records: PgStatementRecords;
  readonly #names: readonly string[];
  readonly #done: (error: Error | undefined) => void;

  constructor(records: PgStatementRecords, statementNames: readonly string[], done: (error: Error | undefined) => void) {
    super('');
    this.#records = records;
    this.#names = statementNames;
    this.#done = done;
    this.submit = (connection: pg.Connection): void => {
      for (const name of this.#names) {
        delete this.#records.parsed[name];
        delete this.#records.submitted[name];
        connection.close({ type: 'S', name }, true);
      }
      connection.sync();
    };
    // node-postgres calls `callback` (it may wrap it, e.g. for its query_timeout) on the outcome
    (this as unknown as { callback: (error: unknown) => void }).callback = (error: unknown) => {
      if (error === null || error === undefined) this.#done(undefined);
      else this.#done(error instanceof Error ? error : new Error(String(error)));
    };
  }

}

/**
 * Closes prepared statements on the server with the extended protocol's `Close` message (one
 * `Close` per name, then `Sync`: one round trip), queued on `client` like any query. This is
 * `DEALLOCATE` without its traps: closing a statement that does not exist is no error, so it
 * cannot abort the caller's transaction, and it works inside a failed transaction, where
 * `DEALLOCATE` fails with `25P02`. node-postgres's records of the names are deleted when the
 * `Close` is written, i.e. after every query queued before it has run (or, on a pipelined client,
 * was written): those still find their statement, and every later one sends `Parse` again.
 */
function closeStatements(client: pg.PoolClient, records: PgStatementRecords, statementNames: readonly string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const query = new CloseStatementsQuery(records, statementNames, (error) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    });
    client.query(query);
  });
}

/** Why a failed execution of a named statement may be re-run, if it may. */
type Recovery = 'gone' | 'plan-changed' | 'multiple-statements';

function field(error: object, name: string): unknown {
  return (error as Record<string, unknown>)[name];
}

function recoveryFor(error: unknown): Recovery | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = field(error, 'code');
  // invalid_sql_statement_name: the statement is gone (DEALLOCATE ALL, DISCARD ALL, a pooler switch)
  if (code === '26000') return 'gone';
  if (code === '0A000') {
    // after ALTER TABLE & co.; the routine is not translated, the message may be (lc_messages)
    const message = field(error, 'message');
    const routine = field(error, 'routine');
    if (message === 'cached plan must not change result type' || routine === 'RevalidateCachedQuery') return 'plan-changed';
  }
  if (code === '42601' && field(error, 'message') === 'cannot insert multiple commands into a prepared statement') {
    return 'multiple-statements';
  }
  return undefined;
}

const NO_COUNTERS: StatementCacheCounters = Object.freeze({
  hit: () => undefined,
  miss: () => undefined,
  evicted: () => undefined,
  reprepared: () => undefined,
});

/**
 * Transparent server-side prepared statements (lesson 4 of the architecture): every data
 * statement (`select`, `insert`, `update`, `delete`, `merge`) run to completion is given a name
 * derived from its SQL text (`ahdb_` + 24 hex digits of its SHA-256), so node-postgres prepares
 * it once per connection and then only binds and executes it: the server skips parsing and
 * planning (after five runs it may use a generic plan, see `plan_cache_mode`).
 *
 * - Each connection keeps at most `capacity` prepared statements (an LRU in its
 *   `ConnectionSession.state`). Preparing one more first closes the least recently used one on the
 *   server (the protocol's `Close`, i.e. `DEALLOCATE`), awaited before the statement runs.
 * - A statement that failed with `26000` (its prepared statement is gone: `DEALLOCATE ALL`,
 *   `DISCARD ALL`, a pooler) or `0A000 cached plan must not change result type` (after `ALTER
 *   TABLE`) is dropped and prepared again, and re-run once, invisibly to the caller, when it runs
 *   outside a transaction. Inside one the error has aborted the transaction: the statement is
 *   dropped and the error thrown; its next run, after the rollback, prepares it again.
 * - Everything else passes through unnamed: transaction control, `set`, DDL and other statements,
 *   streams, a text holding several statements (only the simple protocol can run it), a statement
 *   another interceptor already named, and a name already used for another text on the
 *   connection (a hash collision: one name never means two texts).
 *
 * Place it after the interceptors that rewrite `ctx.sql` (their `before` hooks run inside its
 * `next()`); a rewrite that differs between runs (e.g. a per-request comment) defeats the cache.
 * With `enabled: false` it prepares nothing (PgBouncer in transaction pooling mode).
 *
 * It relies on node-postgres 8's records of parsed statements (`client.connection.parsedStatements`):
 * where they are missing or of another shape, the cache turns itself off
 * for that connection (a warning is logged) and statements pass through unnamed.
 *
 * @throws RangeError when `capacity` is not a positive integer.
 */
export function statementCache(options: StatementCacheOptions = {}): QueryInterceptor {
  const capacity = options.capacity ?? DEFAULT_STATEMENT_CACHE_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`statementCache: capacity must be a positive integer, got ${String(capacity)}`);
  }
  if (options.enabled === false) return Object.freeze({ name: 'statement-cache' });
  const counters = options.counters ?? NO_COUNTERS;
  const logger = options.logger ?? silentLogger;

  const cacheOf = (session: ConnectionSession): ConnectionCache => {
    const existing = session.state.get(STATE_KEY) as ConnectionCache | undefined;
    if (existing !== undefined) return existing;
    const records = pgRecordsOf(session.client);
    const cache: ConnectionCache = { entries: new Map(), clock: 0, records: typeof records === 'string' ? undefined : records };
    if (typeof records === 'string') {
      logger.warn('statement cache off for a connection: node-postgres internals are not as expected', { connectionId: session.id, reason: records });
    }
    session.state.set(STATE_KEY, cache);
    return cache;
  };

  /**
   * Makes room for one more statement: closes the least recently used ones on the server. False
   * when that failed: the cache is then off for the connection (which is most likely dead anyway).
   */
  const evict = async (ctx: QueryContext, cache: ConnectionCache, records: PgStatementRecords): Promise<boolean> => {
    const { entries } = cache;
    const victims: string[] = [];
    while (entries.size >= capacity) {
      let oldest: string | undefined;
      let oldestUsed = Number.POSITIVE_INFINITY;
      for (const [name, entry] of entries) {
        if (entry.used < oldestUsed) {
          oldest = name;
          oldestUsed = entry.used;
        }
      }
      if (oldest === undefined) break;
      entries.delete(oldest);
      victims.push(oldest);
    }
    try {
      await closeStatements(ctx.session.client, records, victims);
    } catch (error) {
      turnOff(ctx, cache, 'could not close evicted prepared statements', error);
      return false;
    }
    counters.evicted(victims.length);
    return true;
  };

  /** What the server still holds is unknown: stop naming statements on this connection, and say so once. */
  const turnOff = (ctx: QueryContext, cache: ConnectionCache, what: string, error: unknown): void => {
    cache.records = undefined;
    cache.entries.clear();
    logger.warn(`statement cache: ${what}; the cache is off for this connection`, {
      connectionId: ctx.session.id,
      error: describeError(error),
    });
  };

  /** After a failed named execution: forget the entry when node-postgres has no statement for it (its `Parse` failed). */
  const reconcile = (cache: ConnectionCache, records: PgStatementRecords, name: string, text: string): void => {
    if (records.parsed[name] === undefined && records.submitted[name] === undefined && cache.entries.get(name)?.text === text) {
      cache.entries.delete(name);
    }
  };

  const recover = async (
    ctx: QueryContext,
    next: QueryNext,
    cache: ConnectionCache,
    records: PgStatementRecords,
    name: string,
    text: string,
    error: unknown,
  ): Promise<InterceptedResult> => {
    const recovery = recoveryFor(error);
    if (recovery === undefined) {
      reconcile(cache, records, name, text);
      throw error;
    }
    if (cache.entries.get(name)?.text === text) cache.entries.delete(name);
    if (recovery === 'multiple-statements') {
      // the scan missed a second statement (e.g. standard_conforming_strings = off): never name this text again
      memoize(text, UNPREPARED);
      if (ctx.inTransaction || ctx.signal?.aborted === true) throw error;
      ctx.statementName = undefined;
      return next();
    }
    if (recovery === 'plan-changed') {
      // the statement still exists on the server: close it there (this also works in a failed transaction)
      try {
        await closeStatements(ctx.session.client, records, [name]);
      } catch (closeError) {
        turnOff(ctx, cache, 'could not close a prepared statement whose plan changed', closeError);
        throw error;
      }
    } else {
      delete records.parsed[name];
      delete records.submitted[name];
    }
    if (ctx.inTransaction || ctx.signal?.aborted === true) throw error;
    counters.reprepared();
    logger.debug('statement cache: prepared statement dropped and prepared again', {
      connectionId: ctx.session.id,
      code: (error as { code?: unknown }).code,
    });
    cache.entries.set(name, { text, used: ++cache.clock });
    try {
      return await next();
    } catch (again) {
      reconcile(cache, records, name, text);
      throw again;
    }
  };

  const run = async (
    ctx: QueryContext,
    next: QueryNext,
    cache: ConnectionCache,
    records: PgStatementRecords,
    name: string,
    text: string,
  ): Promise<InterceptedResult> => {
    try {
      return await next();
    } catch (error) {
      return recover(ctx, next, cache, records, name, text, error);
    }
  };

  const prepare = async (
    ctx: QueryContext,
    next: QueryNext,
    cache: ConnectionCache,
    records: PgStatementRecords,
    name: string,
    text: string,
  ): Promise<InterceptedResult> => {
    if (!(await evict(ctx, cache, records))) return next();
    // another statement on this connection may have prepared it meanwhile
    const known = cache.entries.get(name);
    if (known !== undefined && known.text !== text) return next();
    cache.entries.set(name, { text, used: ++cache.clock });
    ctx.statementName = name;
    return run(ctx, next, cache, records, name, text);
  };

  const execute = (ctx: QueryContext, next: QueryNext): Promise<InterceptedResult> => {
    if (ctx.mode !== 'execute' || ctx.statementName !== undefined || !PREPARED_OPERATIONS.has(ctx.operation)) return next();
    const text = ctx.sql;
    const name = nameOf(text);
    if (name === UNPREPARED) return next();
    const cache = cacheOf(ctx.session);
    const records = cache.records;
    if (records === undefined) return next();
    const entries = cache.entries;
    const known = entries.get(name);
    if (known !== undefined) {
      if (known.text !== text) return next(); // a hash collision: the name means another text here
      known.used = ++cache.clock;
      counters.hit();
      ctx.statementName = name;
      return run(ctx, next, cache, records, name, text);
    }
    // node-postgres holds the name for another text (not through this plugin): leave it alone
    const recorded = records.parsed[name] ?? records.submitted[name];
    if (recorded !== undefined && recorded !== text) return next();
    counters.miss();
    if (entries.size >= capacity) return prepare(ctx, next, cache, records, name, text);
    entries.set(name, { text, used: ++cache.clock });
    ctx.statementName = name;
    return run(ctx, next, cache, records, name, text);
  };

  return Object.freeze({ name: 'statement-cache', execute });
}
