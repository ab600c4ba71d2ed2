import {
  PostgresQueryCompiler,
  type ColumnUpdateNode,
  type InsertQueryNode,
  type MergeQueryNode,
  type OperationNode,
  type PrimitiveValueListNode,
  type RootOperationNode,
  type UpdateQueryNode,
  type ValueListNode,
} from 'kysely';
import { tablesOf } from '../dialect/query-tables.js';

/** What replaces a redacted parameter value in an audit record. */
export const REDACTED_PARAMETER = '[REDACTED]';

/** The column a bound parameter belongs to, as found in Kysely's query tree. */
export interface ParameterColumn {
  /** Column name, as written in the query (unquoted). */
  readonly column: string;
  /** The table written to (`table` or `schema.table`, no alias), when known. */
  readonly table: string | undefined;
  /**
   * True when the parameter is the column's whole value (`"email" = $3`, or `$3` in a `values`
   * row); false when it is only part of an expression computing it (`"email" = lower($3)`).
   */
  readonly direct: boolean;
}

/** How one query tree compiles, with the column of each parameter position (index 0 is `$1`). */
interface ParameterMap {
  readonly sql: string;
  readonly columns: readonly (ParameterColumn | undefined)[];
}

/** A row of an insert's `values` list: its columns, in order, and the table written to. */
interface InsertRow {
  readonly columns: readonly string[];
  readonly table: string | undefined;
}

function identifierName(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const { kind, name } = node as { kind?: unknown; name?: unknown };
  return kind === 'IdentifierNode' && typeof name === 'string' ? name : undefined;
}

/** The name of a `ColumnNode`, or of the column of a `ReferenceNode` (`set('person.email', …)`). */
function columnName(node: OperationNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  const fields = node as unknown as { kind: string; column?: unknown };
  if (fields.kind === 'ColumnNode') return identifierName(fields.column);
  if (fields.kind === 'ReferenceNode' && typeof fields.column === 'object' && fields.column !== null) {
    return columnName(fields.column as OperationNode);
  }
  return undefined;
}

/** Whether `node` compiles to exactly one placeholder standing for its value. */
function isParameter(node: OperationNode): boolean {
  return node.kind === 'ValueNode' && (node as unknown as { immediate?: unknown }).immediate !== true;
}

/**
 * Kysely's PostgreSQL compiler, noting which column each parameter is bound to while it compiles.
 * The SQL it produces is Kysely's own (only `visitValueList` of insert rows is re-spelled, the
 * same way); the caller checks that it equals the SQL that was sent before trusting the map.
 */
class ParameterColumnCompiler extends PostgresQueryCompiler {
  readonly #columns: (ParameterColumn | undefined)[] = [];
  /** The table written to by the statement being compiled (innermost last). */
  readonly #targets: (string | undefined)[] = [];
  readonly #rows = new Map<OperationNode, InsertRow>();

  /** Compiles `query`; returns the SQL and the column of each parameter position. */
  map(query: RootOperationNode): ParameterMap {
    const compiled = this.compileQuery(query, { queryId: 'audit-log' });
    const columns: (ParameterColumn | undefined)[] = [];
    for (let i = 0; i < compiled.parameters.length; i += 1) columns.push(this.#columns[i]);
    return { sql: compiled.sql, columns };
  }

  #target(): string | undefined {
    return this.#targets[this.#targets.length - 1];
  }

  #within(table: string | undefined, visit: () => void): void {
    this.#targets.push(table ?? this.#target());
    try {
      visit();
    } finally {
      this.#targets.pop();
    }
  }

  /** Binds the parameters `start`…`end - 1` to `column`, unless an inner node bound them already. */
  #bind(start: number, end: number, column: string | undefined, table: string | undefined, value: OperationNode): void {
    if (column === undefined) return;
    const direct = end - start === 1 && isParameter(value);
    for (let i = start; i < end; i += 1) {
      this.#columns[i] ??= Object.freeze({ column, table, direct });
    }
  }

  protected override visitInsertQuery(node: InsertQueryNode): void {
    const table = tablesOf(node)[0] ?? this.#target();
    const values = node.values as (OperationNode & { values?: readonly OperationNode[] }) | undefined;
    if (node.columns !== undefined && values?.kind === 'ValuesNode' && values.values !== undefined) {
      const columns = node.columns.map((column) => columnName(column) ?? '');
      for (const row of values.values) this.#rows.set(row, { columns, table });
    }
    this.#within(table, () => super.visitInsertQuery(node));
  }

  protected override visitUpdateQuery(node: UpdateQueryNode): void {
    this.#within(tablesOf(node)[0], () => super.visitUpdateQuery(node));
  }

  protected override visitMergeQuery(node: MergeQueryNode): void {
    this.#within(tablesOf(node)[0], () => super.visitMergeQuery(node));
  }

  protected override visitColumnUpdate(node: ColumnUpdateNode): void {
    const start = this.numParameters;
    super.visitColumnUpdate(node);
    this.#bind(start, this.numParameters, columnName(node.column), this.#target(), node.value);
  }

  protected override visitPrimitiveValueList(node: PrimitiveValueListNode): void {
    const start = this.numParameters;
    super.visitPrimitiveValueList(node);
    const row = this.#rows.get(node);
    if (row === undefined) return;
    for (let i = 0; i < node.values.length; i += 1) {
      const column = row.columns[i];
      if (column) this.#columns[start + i] ??= Object.freeze({ column, table: row.table, direct: true });
    }
  }

  protected override visitValueList(node: ValueListNode): void {
    const row = this.#rows.get(node);
    if (row === undefined) {
      super.visitValueList(node);
      return;
    }
    // Kysely's visitValueList, item by item, to see which parameters each column's value adds
    this.append('(');
    node.values.forEach((value, i) => {
      if (i > 0) this.append(', ');
      const start = this.numParameters;
      this.visitNode(value);
      this.#bind(start, this.numParameters, row.columns[i] || undefined, row.table, value);
    });
    this.append(')');
  }
}

/** Maps of query trees already compiled; a tree is immutable, so its map never changes. */
const maps = new WeakMap<RootOperationNode, ParameterMap | null>();

function mapOf(query: RootOperationNode): ParameterMap | undefined {
  let map = maps.get(query);
  if (map === undefined) {
    try {
      map = new ParameterColumnCompiler().map(query);
    } catch {
      // a tree this compiler cannot compile: no column is known
      map = null;
    }
    maps.set(query, map);
  }
  return map ?? undefined;
}

/**
 * The column each parameter of a statement is bound to (index 0 is `$1`), from Kysely's query
 * tree: the values of an insert's `values` rows (by the insert's column list, also in a merge's
 * `then insert`) and the right-hand sides of `set` (`update`, `on conflict do update`, a merge's
 * `then update`). `undefined` for a parameter bound to no column (`where`, `returning`, CTE
 * bodies, `insert … select`) and for every parameter of raw SQL.
 *
 * The positions come from compiling the tree again with Kysely's PostgreSQL compiler; they are
 * only used when that gives the SQL text that was sent (found in `sql`, which an interceptor may
 * have extended, e.g. with a comment) and the same number of parameters. Otherwise (another
 * compiler, a rewritten statement) every position is `undefined`.
 */
export function parameterColumns(
  query: RootOperationNode | undefined,
  sql: string,
  parameterCount: number,
): readonly (ParameterColumn | undefined)[] {
  const map = query === undefined ? undefined : mapOf(query);
  if (map === undefined || map.columns.length !== parameterCount || !sql.includes(map.sql)) {
    return new Array<ParameterColumn | undefined>(parameterCount).fill(undefined);
  }
  return map.columns;
}

/** Which parameters {@link redactParameters} replaces. */
export interface ParameterRedaction {
  /** Column names (`email`) or `table.column` / `schema.table.column`, lower case. */
  readonly columns: ReadonlySet<string>;
  /** Whether parameters bound to no known column are replaced too. */
  readonly unmapped: boolean;
}

function matches(redaction: ParameterRedaction, bound: ParameterColumn): boolean {
  const column = bound.column.toLowerCase();
  if (redaction.columns.has(column)) return true;
  if (bound.table === undefined) return false;
  const table = bound.table.toLowerCase();
  if (redaction.columns.has(`${table}.${column}`)) return true;
  const dot = table.lastIndexOf('.');
  return dot !== -1 && redaction.columns.has(`${table.slice(dot + 1)}.${column}`);
}

/**
 * A copy of `parameters` with {@link REDACTED_PARAMETER} in place of the values bound to a
 * redacted column. A parameter that is only part of a column's expression (`lower($1)`) is
 * replaced when that column is redacted, and otherwise counts as unmapped; unmapped parameters
 * are kept unless `redaction.unmapped`.
 */
export function redactParameters(
  parameters: readonly unknown[],
  columns: readonly (ParameterColumn | undefined)[],
  redaction: ParameterRedaction,
): unknown[] {
  return parameters.map((value, i) => {
    const bound = columns[i];
    if (bound === undefined) return redaction.unmapped ? REDACTED_PARAMETER : value;
    if (matches(redaction, bound)) return REDACTED_PARAMETER;
    return !bound.direct && redaction.unmapped ? REDACTED_PARAMETER : value;
  });
}
