import type { QueryResult } from 'kysely';
import type pg from 'pg';

const WRITE_COMMANDS: ReadonlySet<string> = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/**
 * Converts a node-postgres result to Kysely's, exactly as Kysely's `PostgresDialect` does:
 * `COMMIT`/`ROLLBACK` become `{ rows: [{ command }] }` (Kysely detects an aborted transaction by
 * a `ROLLBACK` tag on commit), writes get `numAffectedRows` as a bigint. For a multi-statement
 * string (simple protocol) node-postgres returns one result per statement; the last one is used.
 */
export function toKyselyResult<R>(raw: pg.QueryResult | readonly pg.QueryResult[] | undefined): QueryResult<R> {
  const result = Array.isArray(raw) ? raw[raw.length - 1] : (raw as pg.QueryResult | undefined);
  if (result === undefined) return { rows: [] };
  const { command, rowCount } = result;
  if (command === 'COMMIT' || command === 'ROLLBACK') {
    return { rows: [{ command } as R] };
  }
  return {
    numAffectedRows: WRITE_COMMANDS.has(command) ? BigInt(rowCount ?? 0) : undefined,
    rows: (result.rows ?? []) as R[],
  };
}
