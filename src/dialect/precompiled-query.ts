import {
  createQueryId,
  DeleteResult,
  InsertResult,
  isCompilable,
  MergeResult,
  NoResultError,
  QueryNode,
  UpdateResult,
  type AbortableQueryOptions,
  type Compilable,
  type CompiledQuery,
  type InferResult,
  type Kysely,
  type QueryResult,
  type RootOperationNode,
} from 'kysely';
import { PrecompiledParameterError } from '../errors/precompiled-parameter-error.js';

/**
 * The `param` function handed to a precompiled query's builder: `param('id')` stands for the value
 * of parameter `id` given to each execution. It is typed as that parameter's type (`P['id']`), so
 * it goes wherever a value of that type may go; at run time it is a marker object that Kysely must
 * pass as one bind parameter ($n) of its own.
 */
export type ParameterFunction<P extends object> = <K extends keyof P & string>(name: K) => P[K];

/** The function that builds a precompiled query: called once, by `precompile`, with the database and `param`. */
export type PrecompiledQueryBuilder<DB, P extends object, Q extends Compilable<unknown>> = (db: Kysely<DB>, param: ParameterFunction<P>) => Q;

/** A row (or write result) of the query `Q` builds, as Kysely's `InferResult` types it. */
export type PrecompiledRow<Q extends Compilable<unknown>> = InferResult<Q>[number];

/**
 * A Kysely query built and compiled once, executed many times with new parameter values. Each
 * execution copies the compiled parameters, puts the values in, and hands the compiled query to
 * Kysely's `executeQuery`: no builder, no plugin `transformQuery`, no compiler on the way.
 *
 * @typeParam DB - the database the query was built for.
 * @typeParam P - its parameters: names and value types.
 * @typeParam R - a row of its result (for writes without `returning`: Kysely's `InsertResult`,
 *   `UpdateResult`, `DeleteResult` or `MergeResult`).
 */
export interface PrecompiledQuery<DB, P extends object, R> {
  /** The SQL text sent on every execution (the same text every time: prepared once per connection by the statement cache). */
  readonly sql: string;
  /** The parameters' names, in the order of their first bind position in {@link sql}. */
  readonly parameterNames: readonly (keyof P & string)[];
  /**
   * The compiled query with `values` bound, with a fresh query id and the query tree of the
   * original (for `db.executeQuery`, logging, or a look at the parameters). Does not run it.
   *
   * @throws PrecompiledParameterError for a missing, unknown or `undefined` parameter.
   */
  compile(values: Readonly<P>): CompiledQuery<R>;
  /**
   * Runs the query with `values` and returns what the builder's `execute()` would: the rows, or
   * for a write without `returning` one `InsertResult`/`UpdateResult`/`DeleteResult`/`MergeResult`.
   *
   * @param values - one value per parameter; `null` for SQL `NULL`.
   * @param executor - where to run it: the database given to `precompile` (the default) or a
   *   transaction of it (`trx`). Its plugins' `transformResult` run on the result.
   * @param options - Kysely's query options (`signal`).
   * @throws PrecompiledParameterError for a missing, unknown or `undefined` parameter, before anything is sent.
   */
  execute(values: Readonly<P>, executor?: Kysely<DB>, options?: AbortableQueryOptions): Promise<R[]>;
  /** {@link execute}, first row only (`undefined` when there is none). */
  executeTakeFirst(values: Readonly<P>, executor?: Kysely<DB>, options?: AbortableQueryOptions): Promise<R | undefined>;
  /**
   * {@link execute}, first row only.
   *
   * @throws NoResultError (Kysely's) when there is no row.
   */
  executeTakeFirstOrThrow(values: Readonly<P>, executor?: Kysely<DB>, options?: AbortableQueryOptions): Promise<R>;
}

/** `precompile<P>()`: precompiles queries whose parameters `P` are declared rather than inferred. */
export type Precompile<P extends object> = <DB, Q extends Compilable<unknown>>(
  db: Kysely<DB>,
  build: PrecompiledQueryBuilder<DB, P, Q>,
) => PrecompiledQuery<DB, P, PrecompiledRow<Q>>;

/** How a kind of query turns Kysely's `QueryResult` into what its builder's `execute()` returns. */
type ResultShape = (result: QueryResult<unknown>) => unknown[];

/** Shown by a marker that was turned into text (what Kysely does with a value it inlines); searched for in the SQL. */
const INLINED = '{{precompiled parameter ';

/** How deep a bind value is searched for markers nested inside it (arrays and plain objects). */
const MAX_NESTING = 16;

/** What `param(name)` returns at run time: stands for the parameter until an execution puts its value there. */
class ParameterMarker {
  constructor(
    readonly name: string,
    readonly owner: object,
  ) {
    Object.freeze(this);
  }

  toString(): string {
    return `${INLINED}${JSON.stringify(this.name)}}}`;
  }
}

/** A marker somewhere inside `value` (arrays and plain objects, {@link MAX_NESTING} levels), if any. */
function nestedMarker(value: unknown, depth: number): ParameterMarker | undefined {
  if (value instanceof ParameterMarker) return value;
  if (depth >= MAX_NESTING || typeof value !== 'object' || value === null) return undefined;
  let items: readonly unknown[];
  if (Array.isArray(value)) items = value;
  else {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return undefined;
    items = Object.values(value);
  }
  for (const item of items) {
    const found = nestedMarker(item, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The result shape of a query node, as its builder's `execute()` has it (PostgreSQL: `returning` gives rows). */
function shapeOf(node: RootOperationNode): ResultShape {
  if (!QueryNode.is(node)) {
    throw new TypeError(`precompile: only select, insert, update, delete and merge queries can be precompiled, not a ${node.kind}`);
  }
  if (node.kind === 'SelectQueryNode' || node.returning !== undefined) return (result) => result.rows;
  switch (node.kind) {
    case 'InsertQueryNode':
      return (result) => [new InsertResult(result.insertId, result.numAffectedRows ?? BigInt(0))];
    case 'UpdateQueryNode':
      return (result) => [new UpdateResult(result.numAffectedRows ?? BigInt(0), result.numChangedRows)];
    case 'DeleteQueryNode':
      return (result) => [new DeleteResult(result.numAffectedRows ?? BigInt(0))];
    case 'MergeQueryNode':
      return (result) => [new MergeResult(result.numAffectedRows)];
  }
}

/** Where each parameter goes in the compiled parameters; refuses markers Kysely did not bind as values of their own. */
function slotsOf(compiled: CompiledQuery, owner: object, made: ReadonlySet<string>): Map<string, number[]> {
  const slots = new Map<string, number[]>();
  compiled.parameters.forEach((value, index) => {
    if (value instanceof ParameterMarker) {
      if (value.owner !== owner) throw new PrecompiledParameterError('unplaced', value.name, 'it was made by the param() of another precompiled query');
      const list = slots.get(value.name);
      if (list === undefined) slots.set(value.name, [index]);
      else list.push(index);
      return;
    }
    const nested = nestedMarker(value, 0);
    if (nested !== undefined) throw new PrecompiledParameterError('unplaced', nested.name, 'it is nested inside another bind value');
  });
  const inlined = compiled.sql.indexOf(INLINED);
  if (inlined !== -1) {
    const name = /^"((?:[^"\\]|\\.)*)"/.exec(compiled.sql.slice(inlined + INLINED.length))?.[1] ?? '?';
    throw new PrecompiledParameterError('unplaced', name, 'it was inlined into the SQL text');
  }
  for (const name of made) {
    if (!slots.has(name)) throw new PrecompiledParameterError('unplaced', name, 'it does not appear among the bind parameters of the compiled query');
  }
  return slots;
}

/** Builds and compiles the query once; returns the compiled query and where each parameter goes. */
function compileOnce<DB, P extends object, Q extends Compilable<unknown>>(
  db: Kysely<DB>,
  build: PrecompiledQueryBuilder<DB, P, Q>,
): { compiled: CompiledQuery; slots: Map<string, number[]> } {
  const owner = {};
  const made = new Set<string>();
  const markers = new Map<string, ParameterMarker>();
  let open = true;
  const param = <K extends keyof P & string>(name: K): P[K] => {
    if (typeof name !== 'string' || name === '') throw new TypeError('precompile: a parameter name must be a non-empty string');
    if (!open) throw new TypeError(`precompile: param(${JSON.stringify(name)}) called after the query was compiled`);
    made.add(name);
    let marker = markers.get(name);
    if (marker === undefined) {
      marker = new ParameterMarker(name, owner);
      markers.set(name, marker);
    }
    return marker as unknown as P[K];
  };
  let compiled: CompiledQuery;
  try {
    const query: unknown = build(db, param);
    if (!isCompilable(query)) throw new TypeError('precompile: the builder function must return a Kysely query builder (something with compile())');
    compiled = query.compile();
  } finally {
    open = false;
  }
  return { compiled, slots: slotsOf(compiled, owner, made) };
}

/** A precompiled query over a compiled query and its parameter slots. */
function precompiled<DB, P extends object, R>(db: Kysely<DB>, compiled: CompiledQuery, slots: Map<string, number[]>): PrecompiledQuery<DB, P, R> {
  const { sql, query } = compiled;
  const shape = shapeOf(query);
  const template = compiled.parameters.slice();
  for (const list of slots.values()) for (const index of list) template[index] = null;
  const names = [...slots.keys()] as (keyof P & string)[];

  const bind = (values: Readonly<P>): unknown[] => {
    if (typeof values !== 'object' || values === null) throw new TypeError('precompiled query: execute() takes an object of parameter values');
    const parameters = template.slice();
    const given = values as Readonly<Record<string, unknown>>;
    const keys = Object.keys(given);
    for (const key of keys) {
      const list = slots.get(key);
      if (list === undefined) throw new PrecompiledParameterError('unknown', key);
      const value = given[key];
      if (value === undefined) throw new PrecompiledParameterError('undefined', key);
      for (const index of list) parameters[index] = value;
    }
    if (keys.length !== slots.size) {
      const missing = names.find((name) => !Object.hasOwn(given, name)) ?? '?';
      throw new PrecompiledParameterError('missing', missing);
    }
    return parameters;
  };

  const compile = (values: Readonly<P>): CompiledQuery<R> => Object.freeze({ sql, query, queryId: createQueryId(), parameters: bind(values) });

  const execute = async (values: Readonly<P>, executor: Kysely<DB> = db, options?: AbortableQueryOptions): Promise<R[]> =>
    shape(await executor.executeQuery(compile(values), options)) as R[];

  return Object.freeze({
    sql,
    parameterNames: Object.freeze(names),
    compile,
    execute,
    async executeTakeFirst(values: Readonly<P>, executor?: Kysely<DB>, options?: AbortableQueryOptions): Promise<R | undefined> {
      return (await execute(values, executor, options))[0];
    },
    async executeTakeFirstOrThrow(values: Readonly<P>, executor?: Kysely<DB>, options?: AbortableQueryOptions): Promise<R> {
      const rows = await execute(values, executor, options);
      if (rows.length === 0) throw new NoResultError(query as QueryNode);
      return rows[0] as R;
    },
  });
}

/**
 * Builds a Kysely query once with named parameters, compiles it once, and returns a
 * {@link PrecompiledQuery} that runs it with new values, typed as the builder's `execute()`:
 *
 * ```ts
 * const byId = precompile<{ id: number }>()(db, (db, param) =>
 *   db.selectFrom('person').select(['id', 'name']).where('id', '=', param('id')));
 * const rows = await byId.execute({ id: 5 }); // { id: number; name: string }[]
 * ```
 *
 * The SQL text is the same on every execution, so the statement cache prepares it once per
 * connection. Kysely plugins' `transformQuery` runs once, here; `transformResult` runs on every
 * execution. A parameter stands for exactly one bind value: lists go in as one array
 * (`= any(param('ids'))`), never into `in`; it cannot stand where Kysely inlines values
 * (identifiers, `sql.lit`, `sql.raw`).
 *
 * @throws PrecompiledParameterError (`unplaced`) when Kysely did not pass a `param()` as a bind
 *   parameter of its own (dropped, inlined into the SQL, nested inside another value).
 * @throws TypeError when `build` does not return a select, insert, update, delete or merge query builder.
 */
export function precompile<P extends object>(): Precompile<P>;
/**
 * {@link precompile} with the parameters inferred from the type of `build`'s `param` argument
 * (`(db, param: ParameterFunction<{ id: number }>) => …`); without one the query has none.
 */
export function precompile<DB, Q extends Compilable<unknown>, P extends object = Record<never, never>>(
  db: Kysely<DB>,
  build: PrecompiledQueryBuilder<DB, P, Q>,
): PrecompiledQuery<DB, P, PrecompiledRow<Q>>;
export function precompile<DB, Q extends Compilable<unknown>, P extends object>(
  db?: Kysely<DB>,
  build?: PrecompiledQueryBuilder<DB, P, Q>,
): Precompile<P> | PrecompiledQuery<DB, P, PrecompiledRow<Q>> {
  const now = <D, C extends Compilable<unknown>>(database: Kysely<D>, builder: PrecompiledQueryBuilder<D, P, C>) => {
    const { compiled, slots } = compileOnce(database, builder);
    return precompiled<D, P, PrecompiledRow<C>>(database, compiled, slots);
  };
  if (db === undefined && build === undefined) return now;
  if (db === undefined || typeof build !== 'function') throw new TypeError('precompile: pass a Kysely instance and a builder function, or nothing');
  return now(db, build);
}
