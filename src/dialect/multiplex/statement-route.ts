import type { CompiledQuery } from 'kysely';
import { hasMultipleStatements } from '../../plugins/sql-statements.js';
import { operationOf, type QueryOperation } from '../query-operation.js';

/** Where a statement outside a transaction runs when multiplexing is on. */
export type StatementRoute = 'shared' | 'exclusive';

/** The operations that may share a connection: single data statements (everything else may change the session). */
const SHAREABLE_OPERATIONS: ReadonlySet<QueryOperation> = new Set<QueryOperation>(['select', 'insert', 'update', 'delete', 'merge']);

/**
 * Function calls and clauses that read or change the state of the session they run in, so that on
 * a shared connection they would see, or leave behind, a neighbour's state: session advisory locks
 * (the `_xact_` ones end with their statement and may share), `set_config`, the sequence values of
 * the session (`currval`, `lastval`), large-object descriptors, exported snapshots, temporary
 * tables (`into temp`, the `pg_temp` schema), and `listen` state. Any mention of one of these
 * names counts, called or not, quoted or not (`"set_config"(…)`, `set_config/* … *\/(…)`).
 */
const SESSION_STATE =
  /\b(?:pg_(?:try_)?advisory_(?:un)?lock(?:_shared)?|pg_advisory_unlock_all|set_config|currval|lastval|lo_open|lo_close|lo_creat|lo_create|pg_export_snapshot|pg_listening_channels|dblink_connect(?:_u)?)\b|\binto\s+(?:temp|temporary)\b|\bpg_temp\b/i;

/** Route of a text, by text (the same text always gets the same answer); bounded, oldest out. */
const routes = new Map<string, StatementRoute>();
const MEMO_MAX_ENTRIES = 2048;
/** Longer texts are scanned each time rather than held. */
const MEMO_MAX_TEXT = 16 * 1024;

function routeOfText(sql: string): StatementRoute {
  const known = routes.get(sql);
  if (known !== undefined) return known;
  const route: StatementRoute = SESSION_STATE.test(sql) || hasMultipleStatements(sql) ? 'exclusive' : 'shared';
  if (sql.length <= MEMO_MAX_TEXT) {
    if (routes.size >= MEMO_MAX_ENTRIES) {
      const oldest = routes.keys().next();
      if (oldest.done !== true) routes.delete(oldest.value);
    }
    routes.set(sql, route);
  }
  return route;
}

/**
 * Whether a statement run on its own (not in a transaction, not streamed, not on a connection the
 * caller holds) may go to a shared, pipelined connection: a single `select`, `insert`, `update`,
 * `delete` or `merge` (by Kysely's query tree, or the leading keyword of raw SQL) that calls none of
 * the session-state functions above. Everything else (`set`, `begin`, DDL, `listen`, `copy`,
 * `prepare`, several statements in one text…) takes an exclusive connection, as without
 * multiplexing. The text scan is a lexical test, not a parser: it errs towards `exclusive` (a
 * function name inside a string literal also matches), which only costs the statement its sharing.
 */
export function routeOf(compiledQuery: CompiledQuery): StatementRoute {
  if (!SHAREABLE_OPERATIONS.has(operationOf(compiledQuery.query, compiledQuery.sql))) return 'exclusive';
  return routeOfText(compiledQuery.sql);
}
