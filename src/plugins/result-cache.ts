import type { Compilable, CompiledQuery, OperationNode } from 'kysely';
import type { HookResult, InterceptedResult, QueryInterceptor } from '../dialect/interceptor.js';
import type { ConnectionSession, QueryContext } from '../dialect/query-context.js';
import { leadingStatementKeyword } from '../dialect/sql-keyword.js';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import type { ResultCacheCounters } from '../observability/metrics.js';
import { queryCacheKey } from './result-cache-key.js';
import { createMemoryResultCacheStore, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, type ResultCacheStore } from './result-cache-store.js';

/** Default time to live of a cached result: 30 seconds. */
export const DEFAULT_RESULT_CACHE_TTL_MS = 30_000;

/** Options of {@link createResultCache}. */
export interface ResultCacheOptions {
  /**
   * Most entries the in-memory store keeps (least recently used go first). Default 1000. Only for
   * the default store: giving it together with `store` throws.
   */
  readonly maxEntries?: number;
  /**
   * Most bytes the in-memory store keeps, as estimated from the rows (`estimateRowsBytes`: 2 bytes
   * per string character, 8 per number, the bytes of a `Buffer`, plus per-object, per-property and
   * per-entry overheads; it errs on the large side). A result larger than this is never stored.
   * Default 16 MiB. Only for the default store: giving it together with `store` throws.
   */
  readonly maxBytes?: number;
  /** Time to live of an entry when `execute` is not given `ttlMs`, in milliseconds. Default 30 000. */
  readonly defaultTtlMs?: number;
  /**
   * Where entries live. Default: an in-memory LRU (`createMemoryResultCacheStore`) bounded by
   * `maxEntries` and `maxBytes`, whose evictions feed `counters.evicted`. A store given here counts
   * its own evictions (e.g. `createMemoryResultCacheStore({ onEvicted })`).
   */
  readonly store?: ResultCacheStore;
  /** Where hits, misses, evictions and invalidations are counted, e.g. `metrics.resultCache(poolName)`. Default: nowhere. */
  readonly counters?: ResultCacheCounters;
  /**
   * Where a failing store is reported (`warn`): a lookup that fails runs the query instead, a
   * failed store leaves the result uncached. Never receives SQL parameters. Default: silent.
   */
  readonly logger?: Logger;
}

/** Options of one {@link ResultCache.execute} call. */
export interface ResultCacheExecuteOptions {
  /** How long the result may be served from the cache, in milliseconds. Default: the cache's `defaultTtlMs`. */
  readonly ttlMs?: number;
}

/**
 * What the query was built from: a `Kysely` instance, or a `Transaction` (whose `isTransaction` is
 * true, and which the cache never serves nor fills).
 */
export interface ResultCacheDatabase {
  /** Whether this is a transaction (Kysely's `isTransaction`). */
  readonly isTransaction: boolean;
}

/** A read the cache can run: a Kysely query builder (`db.selectFrom(…)…`) that compiles and executes to rows of `O`. */
export type CacheableQuery<O> = Compilable<O> & {
  /** Runs the query and returns its rows (Kysely's `execute()`). */
  execute(): Promise<O[]>;
};

/**
 * A cache of query results, opt-in per query, invalidated by the writes that go through the
 * database it is attached to. Create one per database (the key does not name the database) with
 * {@link createResultCache}, and add its {@link ResultCache.interceptor} to that database's
 * interceptors. See `docs/result-cache.md`.
 */
export interface ResultCache {
  /**
   * The interceptor to add to the dialect's interceptors (`createDatabase(config, { interceptors:
   * [cache.interceptor] })`): it invalidates entries when a write through this database touches
   * their tables, and lets `execute` tell whether a read ran inside a transaction. Put it before
   * (outside) any interceptor that may answer a statement without running it, so that it sees
   * every statement. `execute` throws if a query it runs never went through it.
   */
  readonly interceptor: QueryInterceptor;
  /**
   * Runs a read through the cache and returns its rows:
   * `await cache.execute(db, db.selectFrom('alert').selectAll().where('id', '=', id), { ttlMs: 5_000 })`.
   *
   * - `db` is the `Kysely` (or `Transaction`) the query was built from. Inside a transaction
   *   (`db.isTransaction`), or when the query turns out to run in a transaction block opened by
   *   hand, the cache is neither read nor filled: the query just runs.
   * - Only `select` queries are cached. Anything else (an `insert … returning`, a `select` with a
   *   data-modifying `with`, raw SQL that writes), and a query with a parameter that has no stable
   *   serialization (see `serializeQueryKey`), just runs and is not counted.
   * - The key is the compiled SQL and the parameter values, types included (`1` and `'1'` differ).
   * - Concurrent identical misses share one execution: exactly one reaches the server and all get
   *   its rows (and its error: errors are never cached). A caller arriving after an invalidation of
   *   the query's tables does not join an execution started before it.
   * - Each caller gets its own array of its own shallow copies of the rows; nested values (dates,
   *   buffers, JSON) are shared with the cache and must not be mutated.
   *
   * Counts, per call: a hit when the rows came without a server round trip of its own (from the
   * store, or by sharing another caller's execution that succeeded), a miss when it ran the query
   * (even if it failed); bypassed calls count nothing. Throws `RangeError` for a `ttlMs` that is
   * not a positive number, `TypeError` when the query did not go through {@link interceptor}.
   */
  execute<O>(db: ResultCacheDatabase, query: CacheableQuery<O>, options?: ResultCacheExecuteOptions): Promise<O[]>;
  /**
   * Drops the entries that depend on any of `tables` (names with or without schema, matched by
   * table name) and those whose tables are unknown; with no argument, every entry. For writes the
   * interceptor cannot see: another process, a trigger, a foreign key's `on delete cascade`.
   * Counts the dropped entries as invalidated. An empty list drops nothing.
   */
  invalidate(tables?: readonly string[]): Promise<void>;
  /** Drops every entry, without counting them as invalidated (a reset, e.g. between tests). */
  clear(): Promise<void>;
}

/** Counters that count nothing. */
const NO_COUNTERS: ResultCacheCounters = Object.freeze({
  hit: () => undefined,
  miss: () => undefined,
  evicted: () => undefined,
  invalidated: () => undefined,
});

/** Invalidate every entry. */
const ALL = Symbol('all tables');

/** What a statement wrote: nothing (`undefined`), these tables (bare names), or possibly anything. */
type Written = readonly string[] | typeof ALL | undefined;

/** Most tables whose last invalidation is remembered; beyond it, the memory is reset to one global mark. */
const MAX_TRACKED_TABLES = 10_000;
/** Deepest query tree walked; anything deeper is treated as unknown. */
const MAX_TREE_DEPTH = 256;

/** Words that show raw SQL may read tables (or, for `with`/`lateral`, define reads). */
const RAW_READ_WORDS = /\b(?:select|from|join|table|with|lateral)\b/i;
/** Words that show raw SQL may write. `for [no key] update` (a row lock) is removed first. */
const RAW_WRITE_WORDS = /\b(?:insert|update|delete|merge|truncate|copy|call)\b/i;
const ROW_LOCK = /\bfor\s+(?:no\s+key\s+)?update\b/gi;

/** Leading keywords of raw statements that change no table data (a `select` or `explain` is also checked for write words). */
const RAW_NON_WRITING = new Set([
  'select',
  'values',
  'table',
  'show',
  'explain',
  'begin',
  'start',
  'commit',
  'end',
  'rollback',
  'abort',
  'savepoint',
  'release',
  'set',
  'reset',
  'listen',
  'unlisten',
  'notify',
  'discard',
  'deallocate',
  'prepare',
  'fetch',
  'move',
  'close',
  'declare',
  'lock',
  'vacuum',
  'analyze',
  'checkpoint',
]);
/** Of those, the ones whose text must also be free of write words (`explain analyze delete …`, `with d as (delete …) select …`). */
const RAW_CHECKED = new Set(['select', 'values', 'table', 'explain', 'declare']);

/** Root kinds that write rows. */
const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);
/** DDL roots whose tables are `TableNode`s in the tree. */
const TABLE_DDL_KINDS = new Set(['CreateTableNode', 'DropTableNode', 'AlterTableNode', 'CreateIndexNode']);
/** DDL roots that name a view (`name`). */
const VIEW_DDL_KINDS = new Set(['CreateViewNode', 'DropViewNode', 'RefreshMaterializedViewNode']);
/** What may stand in a `from`, `join` or `using` position without hiding which tables are read. */
const TRANSPARENT_FROM_KINDS = new Set(['TableNode', 'SelectQueryNode', 'ValuesNode']);

type TreeNode = OperationNode & Readonly<Record<string, unknown>>;

function isNode(value: unknown): value is TreeNode {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

function identifierName(value: unknown): string | undefined {
  if (!isNode(value) || value.kind !== 'IdentifierNode') return undefined;
  return typeof value.name === 'string' ? value.name : undefined;
}

/** The table name (no schema) of a `SchemableIdentifierNode`. */
function bareName(value: unknown): string | undefined {
  if (!isNode(value) || value.kind !== 'SchemableIdentifierNode') return undefined;
  return identifierName(value.identifier);
}

/** What a walk of a query tree found. */
interface TreeScan {
  /** Bare names of every `TableNode` (tables, but also CTE names and aliases: a superset). */
  readonly tables: Set<string>;
  /** Raw SQL or a function stands where tables may be read: the tables are not all known. */
  opaque: boolean;
  /** An insert, update, delete or merge is part of the tree. */
  writes: boolean;
  /** Raw SQL in the tree looks like it writes. */
  rawWrites: boolean;
}

function newScan(): TreeScan {
  return { tables: new Set(), opaque: false, writes: false, rawWrites: false };
}

function unaliased(node: unknown): unknown {
  return isNode(node) && node.kind === 'AliasNode' ? node.node : node;
}

/** Marks the scan opaque when a `from`/`join`/`using`/CTE item is not a table, a subquery or a `values` list. */
function checkFromItem(item: unknown, scan: TreeScan): void {
  const node = unaliased(item);
  if (!isNode(node) || !TRANSPARENT_FROM_KINDS.has(node.kind)) scan.opaque = true;
}

function checkFromItems(items: unknown, scan: TreeScan): void {
  if (Array.isArray(items)) for (const item of items) checkFromItem(item, scan);
}

function rawFlags(text: string, scan: TreeScan): void {
  if (RAW_READ_WORDS.test(text)) scan.opaque = true;
  if (RAW_WRITE_WORDS.test(text.replace(ROW_LOCK, ' '))) scan.rawWrites = true;
}

/**
 * Walks a query tree: every `TableNode` anywhere (subqueries, CTE bodies, joins, `where`
 * clauses…), whether raw SQL or a function hides reads, whether anything writes. Literal values
 * (`ValueNode`, `PrimitiveValueListNode`) are not looked into.
 */
function walk(node: TreeNode, scan: TreeScan, depth: number): void {
  if (depth > MAX_TREE_DEPTH) {
    scan.opaque = true;
    return;
  }
  switch (node.kind) {
    case 'ValueNode':
    case 'PrimitiveValueListNode':
      return;
    case 'TableNode': {
      const name = bareName(node.table);
      if (name === undefined) scan.opaque = true;
      else scan.tables.add(name);
      return;
    }
    case 'RawNode':
      if (Array.isArray(node.sqlFragments)) rawFlags(node.sqlFragments.join(' '), scan);
      break;
    case 'FromNode':
      checkFromItems(node.froms, scan);
      break;
    case 'UsingNode':
      checkFromItems(node.tables, scan);
      break;
    case 'JoinNode':
      checkFromItem(node.table, scan);
      break;
    case 'CommonTableExpressionNode': {
      const body = unaliased(node.expression);
      if (!isNode(body) || (body.kind !== 'SelectQueryNode' && body.kind !== 'ValuesNode' && !WRITE_KINDS.has(body.kind))) scan.opaque = true;
      break;
    }
    default:
      if (WRITE_KINDS.has(node.kind)) scan.writes = true;
      break;
  }
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) walk(item, scan, depth + 1);
    } else if (isNode(value)) {
      walk(value, scan, depth + 1);
    }
  }
}

function scanOf(node: unknown): TreeScan {
  const scan = newScan();
  if (isNode(node)) walk(node, scan, 0);
  return scan;
}

/** How a read is cached: its key, and the tables it depends on (`undefined`: unknown, any write drops it). */
interface ReadPlan {
  readonly key: string;
  readonly tables: readonly string[] | undefined;
}

/**
 * The plan of a compiled read, or `undefined` when it must not be cached: not a `select`, writes
 * somewhere (a data-modifying CTE, raw SQL with write words), or a parameter without a stable key.
 */
function readPlanOf(compiled: CompiledQuery): ReadPlan | undefined {
  const root: unknown = compiled.query;
  if (!isNode(root)) return undefined;
  let tables: readonly string[] | undefined;
  if (root.kind === 'SelectQueryNode') {
    const scan = scanOf(root);
    if (scan.writes || scan.rawWrites) return undefined;
    tables = scan.opaque ? undefined : [...scan.tables];
  } else if (root.kind === 'RawNode') {
    // not from a query builder, but a Compilable may produce it: a plain read only, tables unknown
    const keyword = leadingStatementKeyword(compiled.sql);
    if (keyword !== 'select' && keyword !== 'values' && keyword !== 'table') return undefined;
    if (RAW_WRITE_WORDS.test(compiled.sql.replace(ROW_LOCK, ' '))) return undefined;
    tables = undefined;
  } else {
    return undefined;
  }
  const key = queryCacheKey(compiled.sql, compiled.parameters);
  return key === undefined ? undefined : { key, tables };
}

/** What a raw statement (no query tree) wrote, from its text. */
function rawWritten(sql: string): Written {
  const keyword = leadingStatementKeyword(sql);
  if (keyword === undefined) return undefined;
  if (keyword === 'commit' && /\bprepared\b/i.test(sql)) return ALL;
  if (!RAW_NON_WRITING.has(keyword)) return ALL;
  if (RAW_CHECKED.has(keyword) && RAW_WRITE_WORDS.test(sql.replace(ROW_LOCK, ' '))) return ALL;
  return undefined;
}

function tablesOrAll(scan: TreeScan): Written {
  return scan.rawWrites || scan.tables.size === 0 ? ALL : [...scan.tables];
}

/**
 * What a statement may have written, conservatively: for an insert, update, delete or merge,
 * every table named anywhere in it (its target, the tables it reads, CTEs); for DDL, its table or
 * view; for a `select`, the tables of a data-modifying `with`; for raw SQL, everything unless its
 * leading keyword shows it writes nothing; everything for any other tree.
 */
function writtenBy(ctx: QueryContext): Written {
  const root: unknown = ctx.query;
  if (!isNode(root) || root.kind === 'RawNode') return rawWritten(ctx.sql);
  if (root.kind === 'SelectQueryNode') {
    if (root.with === undefined) return undefined;
    const cte = scanOf(root.with);
    if (!cte.writes && !cte.rawWrites) return undefined;
    return tablesOrAll(scanOf(root));
  }
  if (WRITE_KINDS.has(root.kind) || TABLE_DDL_KINDS.has(root.kind)) return tablesOrAll(scanOf(root));
  if (VIEW_DDL_KINDS.has(root.kind)) {
    const name = bareName(root.name);
    return name === undefined ? ALL : [name];
  }
  return ALL;
}

/** Bare table name of a name given to `invalidate` (`schema.table` → `table`). */
function bareOf(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Writes of the current transaction block of one connection, invalidated again when it commits. */
interface PendingWrites {
  all: boolean;
  readonly tables: Set<string>;
}

/** Statements that end a transaction block (`rollback to savepoint` excepted). */
function endsTransaction(sql: string): 'commit' | 'rollback' | undefined {
  const keyword = leadingStatementKeyword(sql);
  if (keyword === 'commit' || keyword === 'end' || (keyword === 'prepare' && /^\s*prepare\s+transaction\b/i.test(sql))) return 'commit';
  if ((keyword === 'rollback' || keyword === 'abort') && !/^\s*rollback\s+(?:work\s+|transaction\s+)?to\b/i.test(sql)) return 'rollback';
  return undefined;
}

/** Whether the connection is in a transaction block now, as the server last reported it. */
function inTransactionNow(session: ConnectionSession): boolean {
  const status = session.client.getTransactionStatus();
  return status === 'T' || status === 'E';
}

/** A query run by `execute` on a miss: whether the interceptor saw it, and in a transaction block. */
interface Probe {
  seen: boolean;
  inTransaction: boolean;
}

/** What a lookup produced: the rows, and whether other callers may have them. */
interface Loaded {
  readonly rows: readonly unknown[];
  /** False when the query ran inside a transaction block opened by hand: its rows may hold that transaction's uncommitted writes. */
  readonly shareable: boolean;
}

/** An execution shared by concurrent identical misses. */
interface Flight {
  /** The invalidation epoch it started at: a caller arriving after a later invalidation of its tables does not join. */
  readonly epoch: number;
  readonly tables: readonly string[] | undefined;
  readonly load: Promise<Loaded>;
}

function positiveTtl(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

function copyRows<O>(rows: readonly unknown[]): O[] {
  return rows.map((row) => {
    if (typeof row !== 'object' || row === null) return row as O;
    if (Array.isArray(row)) return [...(row as unknown[])] as O;
    return { ...(row as object) } as O;
  });
}

function guardedCount(count: () => void): void {
  try {
    count();
  } catch {
    // counters must not break queries
  }
}

/**
 * Creates a result cache (see {@link ResultCache} and `docs/result-cache.md`):
 *
 * ```ts
 * const cache = createResultCache({ counters: metrics.resultCache('default') });
 * const database = createDatabase(config, { interceptors: [cache.interceptor] });
 * const open = await cache.execute(database.db, database.db.selectFrom('alert').selectAll().where('status', '=', 'open'), { ttlMs: 5_000 });
 * ```
 *
 * Throws `RangeError` for bounds or a TTL that are not positive, `TypeError` for `maxEntries` or
 * `maxBytes` given with a `store`.
 */
export function createResultCache(options: ResultCacheOptions = {}): ResultCache {
  const counters = options.counters ?? NO_COUNTERS;
  const logger = options.logger ?? silentLogger;
  const defaultTtlMs = positiveTtl('defaultTtlMs', options.defaultTtlMs ?? DEFAULT_RESULT_CACHE_TTL_MS);
  if (options.store !== undefined && (options.maxEntries !== undefined || options.maxBytes !== undefined)) {
    throw new TypeError('maxEntries and maxBytes configure the default in-memory store: configure the store given as `store` instead');
  }
  const store: ResultCacheStore =
    options.store ??
    createMemoryResultCacheStore({
      maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
      onEvicted: (count) => counters.evicted(count),
    });

  // Invalidation epochs: a miss that started before an invalidation of its tables does not store
  // what it read (the server may have answered before the write committed), and is not joined.
  let epoch = 0;
  let lastInvalidation = 0;
  let lastInvalidationOfAll = 0;
  const tableEpochs = new Map<string, number>();
  const flights = new Map<string, Flight>();
  const probes = new Map<string, Probe[]>();
  const pendingKey = Symbol('result-cache: writes of the open transaction');

  const invalidatedSince = (since: number, tables: readonly string[] | undefined): boolean => {
    if (lastInvalidationOfAll > since) return true;
    if (tables === undefined) return lastInvalidation > since;
    for (const table of tables) if ((tableEpochs.get(table) ?? 0) > since) return true;
    return false;
  };

  /** Marks the invalidation (synchronously) then drops the entries; returns how many live ones went. */
  const drop = async (written: typeof ALL | readonly string[]): Promise<number> => {
    if (written !== ALL && written.length === 0) return 0;
    epoch += 1;
    lastInvalidation = epoch;
    if (written === ALL || tableEpochs.size + written.length > MAX_TRACKED_TABLES) {
      lastInvalidationOfAll = epoch;
      tableEpochs.clear();
    }
    if (written === ALL) return store.clear();
    for (const table of written) tableEpochs.set(table, epoch);
    return store.deleteByTables(written);
  };

  const invalidateWritten = async (written: typeof ALL | readonly string[]): Promise<void> => {
    const count = await drop(written);
    if (count > 0) guardedCount(() => counters.invalidated(count));
  };

  const notePending = (session: ConnectionSession, written: typeof ALL | readonly string[]): void => {
    let pending = session.state.get(pendingKey) as PendingWrites | undefined;
    if (pending === undefined) {
      pending = { all: false, tables: new Set() };
      session.state.set(pendingKey, pending);
    }
    if (written === ALL) pending.all = true;
    else for (const table of written) pending.tables.add(table);
  };

  /** At the end of a transaction block: invalidates its writes again once committed (readers may have refilled them meanwhile). */
  const settlePending = (session: ConnectionSession, outcome: 'commit' | 'rollback'): Promise<void> | undefined => {
    const pending = session.state.get(pendingKey) as PendingWrites | undefined;
    if (pending === undefined) return undefined;
    session.state.delete(pendingKey);
    if (outcome === 'rollback') return undefined;
    return invalidateWritten(pending.all ? ALL : [...pending.tables]);
  };

  const settled = async (ctx: QueryContext, written: Written, succeeded: boolean): Promise<void> => {
    // The error hook may see a statement refused on a released lease: its client is not ours to
    // read then, and its `inTransaction` is false; only a live statement touches the transaction state.
    const inTransaction = ctx.inTransaction || (succeeded && inTransactionNow(ctx.session));
    if (written !== undefined) {
      if (inTransaction) notePending(ctx.session, written);
      await invalidateWritten(written);
    }
    if (!ctx.inTransaction || !ctx.session.state.has(pendingKey)) return;
    const ending = endsTransaction(ctx.sql);
    if (ending !== undefined) await settlePending(ctx.session, ending);
    else if (succeeded && !inTransactionNow(ctx.session)) await settlePending(ctx.session, 'commit');
  };

  const observe = (ctx: QueryContext, succeeded: boolean): HookResult => {
    const written = writtenBy(ctx);
    if (written === undefined && !(ctx.inTransaction && ctx.session.state.has(pendingKey))) return undefined;
    return settled(ctx, written, succeeded);
  };

  const interceptor: QueryInterceptor = Object.freeze({
    name: 'result-cache',
    before(ctx: QueryContext): void {
      const waiting = probes.get(ctx.queryId);
      if (waiting === undefined) return;
      for (const probe of waiting) {
        probe.seen = true;
        if (ctx.inTransaction) probe.inTransaction = true;
      }
    },
    // A write invalidates once it settled, successfully or not: a failed statement usually changed
    // nothing, but one that failed on a lost connection or a timeout may have committed.
    after(ctx: QueryContext, _result: InterceptedResult): HookResult {
      return observe(ctx, true);
    },
    error(ctx: QueryContext, _error: unknown): HookResult {
      return observe(ctx, false);
    },
  });

  const addProbe = (queryId: string, probe: Probe): void => {
    const list = probes.get(queryId);
    if (list === undefined) probes.set(queryId, [probe]);
    else list.push(probe);
  };

  const removeProbe = (queryId: string, probe: Probe): void => {
    const list = probes.get(queryId);
    if (list === undefined) return;
    const index = list.indexOf(probe);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) probes.delete(queryId);
  };

  const load = async (
    plan: ReadPlan,
    compiled: CompiledQuery,
    query: { execute(): Promise<unknown[]> },
    ttlMs: number,
    since: number,
  ): Promise<Loaded> => {
    let cached: readonly unknown[] | undefined;
    try {
      cached = await store.get(plan.key);
    } catch (error) {
      logger.warn('result cache: store lookup failed; running the query', { error: describeError(error) });
    }
    if (cached !== undefined) {
      guardedCount(() => counters.hit());
      return { rows: cached, shareable: true };
    }
    const queryId = compiled.queryId.queryId;
    const probe: Probe = { seen: false, inTransaction: false };
    addProbe(queryId, probe);
    let rows: unknown[];
    try {
      guardedCount(() => counters.miss());
      rows = await query.execute();
    } finally {
      removeProbe(queryId, probe);
    }
    if (!probe.seen) {
      throw new TypeError(
        'result cache: the query did not go through cache.interceptor; add it to the interceptors of the database the query was built from',
      );
    }
    if (probe.inTransaction) return { rows, shareable: false };
    if (!invalidatedSince(since, plan.tables)) {
      try {
        await store.set(plan.key, { rows, tables: plan.tables }, ttlMs);
      } catch (error) {
        logger.warn('result cache: storing a result failed; it stays uncached', { error: describeError(error) });
      }
    }
    return { rows, shareable: true };
  };

  return Object.freeze({
    interceptor,
    async execute<O>(db: ResultCacheDatabase, query: CacheableQuery<O>, executeOptions: ResultCacheExecuteOptions = {}): Promise<O[]> {
      const ttlMs = executeOptions.ttlMs === undefined ? defaultTtlMs : positiveTtl('ttlMs', executeOptions.ttlMs);
      if (db.isTransaction) return query.execute();
      const compiled = query.compile();
      const plan = readPlanOf(compiled);
      if (plan === undefined) return query.execute();
      const flight = flights.get(plan.key);
      if (flight !== undefined && !invalidatedSince(flight.epoch, flight.tables)) {
        const shared = await flight.load;
        // rows read inside someone's hand-made transaction are not for others: run it ourselves
        if (!shared.shareable) return query.execute();
        guardedCount(() => counters.hit());
        return copyRows<O>(shared.rows);
      }
      const mine: Flight = { epoch, tables: plan.tables, load: load(plan, compiled, query, ttlMs, epoch) };
      flights.set(plan.key, mine);
      try {
        return copyRows<O>((await mine.load).rows);
      } finally {
        if (flights.get(plan.key) === mine) flights.delete(plan.key);
      }
    },
    async invalidate(tables?: readonly string[]): Promise<void> {
      await invalidateWritten(tables === undefined ? ALL : [...new Set(tables.map(bareOf))]);
    },
    async clear(): Promise<void> {
      epoch += 1;
      lastInvalidation = epoch;
      lastInvalidationOfAll = epoch;
      tableEpochs.clear();
      await store.clear();
    },
  });
}
