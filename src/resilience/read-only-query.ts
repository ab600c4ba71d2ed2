import type { RootOperationNode } from 'kysely';

/** Node kinds that change data wherever they appear (a data-modifying CTE included). */
const WRITING_KINDS: ReadonlySet<string> = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);

/** Query trees already judged: Kysely's trees are immutable, and a compiled query is often re-run. */
const judged = new WeakMap<object, boolean>();

function containsWrite(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  if (Array.isArray(value)) return value.some((item) => containsWrite(item, depth + 1));
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind === 'string' && WRITING_KINDS.has(kind)) return true;
  for (const field of Object.values(value)) {
    if (containsWrite(field, depth + 1)) return true;
  }
  return false;
}

/**
 * Whether a query is a read that may be sent again after its connection died under it: a query
 * built with Kysely's `selectFrom` (root `SelectQueryNode`) with no `insert`, `update`, `delete`
 * or `merge` anywhere in it (e.g. in a `with` clause). Raw SQL (`sql\`…\``, `CompiledQuery.raw`)
 * is never judged read-only: its text is not parsed. Side effects of functions a select calls
 * (`nextval`, `pg_advisory_lock`, a user function that writes) are not detected: a query that
 * calls such a function should run in a transaction or with retries off.
 */
export function isReadOnlyQuery(query: RootOperationNode | undefined): boolean {
  if (query === undefined || query.kind !== 'SelectQueryNode') return false;
  let verdict = judged.get(query);
  if (verdict === undefined) {
    verdict = !containsWrite(query, 0);
    judged.set(query, verdict);
  }
  return verdict;
}
