import type { OperationNode, RootOperationNode } from 'kysely';

/** Most table names reported for one query; the list is a label source and must stay bounded. */
export const MAX_QUERY_TABLES = 8;

type NodeFields = OperationNode & Readonly<Record<string, unknown>>;

function isNode(value: unknown): value is NodeFields {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

function identifierName(value: unknown): string | undefined {
  if (!isNode(value) || value.kind !== 'IdentifierNode') return undefined;
  const name = value.name;
  return typeof name === 'string' ? name : undefined;
}

/** `schema.table` or `table` of a `SchemableIdentifierNode`. */
function schemableName(value: unknown): string | undefined {
  if (!isNode(value) || value.kind !== 'SchemableIdentifierNode') return undefined;
  const table = identifierName(value.identifier);
  if (table === undefined) return undefined;
  const schema = identifierName(value.schema);
  return schema === undefined ? table : `${schema}.${table}`;
}

/** The table named by a `TableNode`, possibly under an `AliasNode`; `undefined` for subqueries and the like. */
function tableName(value: unknown): string | undefined {
  if (!isNode(value)) return undefined;
  if (value.kind === 'AliasNode') return tableName(value.node);
  if (value.kind === 'TableNode') return schemableName(value.table);
  return undefined;
}

function eachItem(value: unknown, add: (node: unknown) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) add(item);
  } else if (isNode(value) && value.kind === 'ListNode' && Array.isArray(value.items)) {
    for (const item of value.items) add(item);
  } else if (value !== undefined) {
    add(value);
  }
}

/** Table-valued items of a `FromNode` or `UsingNode` (`froms` / `tables`). */
function listedTables(value: unknown, add: (node: unknown) => void): void {
  if (!isNode(value)) return;
  if (value.kind === 'FromNode') eachItem(value.froms, add);
  else if (value.kind === 'UsingNode') eachItem(value.tables, add);
}

function joinedTables(value: unknown, add: (node: unknown) => void): void {
  eachItem(value, (join) => {
    if (isNode(join) && join.kind === 'JoinNode') add(join.table);
  });
}

/**
 * The names of the tables a query works on, from Kysely's query tree: the target first
 * (`into`, `update`'s table, `delete from`, `merge into`, the DDL's table), then the tables of
 * `from`, `using` and joins. Subqueries, CTE bodies and raw SQL are not looked into. Names are
 * `table` or `schema.table`, without aliases, deduplicated, at most {@link MAX_QUERY_TABLES}.
 */
export function tablesOf(query: RootOperationNode | undefined): readonly string[] {
  if (query === undefined) return Object.freeze([]);
  const names: string[] = [];
  const add = (node: unknown): void => {
    if (names.length >= MAX_QUERY_TABLES) return;
    const name = tableName(node);
    if (name !== undefined && !names.includes(name)) names.push(name);
  };
  const node = query as unknown as NodeFields;
  switch (node.kind) {
    case 'SelectQueryNode':
      listedTables(node.from, add);
      joinedTables(node.joins, add);
      break;
    case 'InsertQueryNode':
      add(node.into);
      break;
    case 'UpdateQueryNode':
      eachItem(node.table, add);
      listedTables(node.from, add);
      joinedTables(node.joins, add);
      break;
    case 'DeleteQueryNode':
      listedTables(node.from, add);
      listedTables(node.using, add);
      joinedTables(node.joins, add);
      break;
    case 'MergeQueryNode':
      add(node.into);
      if (isNode(node.using) && node.using.kind === 'JoinNode') add(node.using.table);
      break;
    case 'CreateTableNode':
    case 'DropTableNode':
    case 'AlterTableNode':
    case 'CreateIndexNode':
      add(node.table);
      break;
    case 'CreateViewNode':
    case 'DropViewNode':
    case 'RefreshMaterializedViewNode': {
      const name = schemableName(node.name);
      if (name !== undefined) names.push(name);
      break;
    }
    default:
      break;
  }
  return Object.freeze(names);
}
