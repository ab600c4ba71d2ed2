import type pg from 'pg';
import { describeError } from '../observability/describe-error.js';
import type { Logger } from '../observability/logger.js';

/** A statement for a short-lived connection outside the pool, e.g. `pg_cancel_backend`. */
export interface ControlStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** Checked once the control connection is open: the statement is sent only if it still returns true. */
  readonly stillWanted: () => boolean;
}

/**
 * Opens a dedicated connection with `open` (in practice `pool.openClient(…)`: outside the pool, so
 * it never waits for a pooled connection, with the TLS setting of the pooled connection it acts
 * on), runs `statement` if it is still wanted, and closes the connection. Resolves to the number
 * of rows the statement returned, or `undefined` when it was no longer wanted.
 */
export async function runControlStatement(
  open: () => Promise<pg.Client>,
  statement: ControlStatement,
  logger: Logger,
): Promise<number | undefined> {
  const client = await open();
  try {
    if (!statement.stillWanted()) return undefined;
    const result = await client.query(statement.sql, statement.parameters as unknown[]);
    return result.rowCount ?? 0;
  } finally {
    await client.end().catch((error: unknown) => {
      logger.debug('control connection did not close cleanly', { error: describeError(error) });
    });
  }
}
