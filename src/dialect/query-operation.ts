import type { RootOperationNode } from 'kysely';
import { leadingStatementKeyword } from './sql-keyword.js';

/**
 * What a statement does, as a bounded label for metrics, logs and plugins.
 *
 * - `select`, `insert`, `update`, `delete`, `merge`: the data statements;
 * - `ddl`: schema changes (`create`, `alter`, `drop`, `truncate`, `comment`, `grant`, `revoke`);
 * - `other`: everything else (`begin`, `commit`, `savepoint`, `set`, `explain`, `vacuum`, `do`…).
 */
export type QueryOperation = 'select' | 'insert' | 'update' | 'delete' | 'merge' | 'ddl' | 'other';

/** Every {@link QueryOperation}, e.g. to pre-create metric series. */
export const QUERY_OPERATIONS: readonly QueryOperation[] = Object.freeze([
  'select',
  'insert',
  'update',
  'delete',
  'merge',
  'ddl',
  'other',
]);

const BY_NODE_KIND: Readonly<Record<string, QueryOperation>> = Object.freeze({
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  MergeQueryNode: 'merge',
  CreateTableNode: 'ddl',
  CreateIndexNode: 'ddl',
  CreateSchemaNode: 'ddl',
  CreateViewNode: 'ddl',
  CreateTypeNode: 'ddl',
  DropTableNode: 'ddl',
  DropIndexNode: 'ddl',
  DropSchemaNode: 'ddl',
  DropViewNode: 'ddl',
  DropTypeNode: 'ddl',
  AlterTableNode: 'ddl',
  AlterTypeNode: 'ddl',
  RefreshMaterializedViewNode: 'other',
});

const BY_KEYWORD: Readonly<Record<string, QueryOperation>> = Object.freeze({
  select: 'select',
  values: 'select',
  table: 'select',
  insert: 'insert',
  update: 'update',
  delete: 'delete',
  merge: 'merge',
  create: 'ddl',
  alter: 'ddl',
  drop: 'ddl',
  truncate: 'ddl',
  comment: 'ddl',
  grant: 'ddl',
  revoke: 'ddl',
});

/**
 * The operation of a compiled query: from Kysely's query tree when it has one
 * (`SelectQueryNode` → `select`…), else (raw SQL, `RawNode`) from the statement's leading
 * keyword, looking through `with` clauses to the main statement.
 */
export function operationOf(query: RootOperationNode | undefined, sql: string): QueryOperation {
  const byNode = query === undefined ? undefined : BY_NODE_KIND[query.kind];
  if (byNode !== undefined) return byNode;
  const keyword = leadingStatementKeyword(sql);
  return (keyword === undefined ? undefined : BY_KEYWORD[keyword]) ?? 'other';
}
