import type { RootOperationNode } from 'kysely';

/**
 * Node kinds that may change data wherever they appear: the writing statements (a data-modifying
 * CTE included), and raw SQL, whose text is not parsed (`sql\`(insert …)\`` as a `with` body,
 * `modifyEnd(sql\`; insert …\`)`).
 */
const WRITING_KINDS: ReadonlySet<string> = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode', 'RawNode']);

/** Trees deeper than this are not searched: they are judged as writing (fail closed). */
const MAX_DEPTH = 64;

/** Query trees already judged: Kysely's trees are immutable, and a compiled query is often re-run. */
const judged = new WeakMap<object, boolean>();

function containsWrite(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > MAX_DEPTH) return true;
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
 * or `merge` anywhere in it (e.g. in a `with` clause) and **no raw SQL anywhere in it**
 * (`sql\`…\`` fragments, `modifyEnd`, `CompiledQuery.raw`): raw text is not parsed, and could
 * hold a write. Side effects of functions a select calls
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
