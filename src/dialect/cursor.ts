import type pg from 'pg';
import Cursor from 'pg-cursor';

/** Rows of a cursor, `chunkSize` at a time. */
export type RowCursor = Cursor<Record<string, unknown>>;

/** Opens a pg-cursor for `sql` on `client` (same type parsing as `PostgresDialect` with `cursor: Cursor`). */
export function openCursor(client: pg.PoolClient, sql: string, parameters: readonly unknown[]): RowCursor {
  return client.query(new Cursor<Record<string, unknown>>(sql, parameters.slice()));
}

/**
 * Closes a cursor, but never waits for a connection that ended: pg-cursor's `close()` waits for
 * the server's ReadyForQuery, which a dead connection never sends.
 */
export async function closeCursor(client: pg.PoolClient, cursor: RowCursor): Promise<void> {
  let onGone: (() => void) | undefined;
  const gone = new Promise<void>((resolve) => {
    onGone = resolve;
    client.once('end', resolve);
    client.once('error', resolve);
  });
  try {
    await Promise.race([cursor.close(), gone]);
  } finally {
    if (onGone) {
      client.removeListener('end', onGone);
      client.removeListener('error', onGone);
    }
  }
}
