import pg from 'pg';
import type { Logger } from '../observability/logger.js';

/** A statement for a short-lived connection outside the pool, e.g. `pg_cancel_backend`. */
export interface ControlStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** Checked once the control connection is open: the statement is sent only if it still returns true. */
  readonly stillWanted: () => boolean;
}

/**
 * Settings for a control connection next to `client`: the pool's connection options, but with the
 * TLS setting `client` actually connected with. Under `sslmode=prefer`/`allow` the pool's options
 * hold the first attempt only, and the server may have refused it. The password stays non-enumerable.
 */
export function controlOptionsFor(base: Readonly<pg.ClientConfig>, client: pg.PoolClient): Readonly<pg.ClientConfig> {
  const effective = (client as { ssl?: unknown }).ssl;
  const options: pg.ClientConfig = { ...base };
  if (effective === false || (typeof effective === 'object' && effective !== null)) {
    options.ssl = effective as pg.ClientConfig['ssl'];
  }
  if (base.password !== undefined) {
    Object.defineProperty(options, 'password', { value: base.password, enumerable: false, writable: true, configurable: true });
  }
  return Object.freeze(options);
}

/**
 * Opens a dedicated connection with the pool's connection options (so it never waits for a pooled
 * connection), runs `statement` if it is still wanted, and closes the connection. Resolves to
 * the number of rows the statement returned, or `undefined` when it was no longer wanted. The password is passed explicitly because it is not enumerable
 * on the pool's options; it is never logged.
 */
export async function runControlStatement(
  options: Readonly<pg.ClientConfig>,
  statement: ControlStatement,
  logger: Logger,
): Promise<number | undefined> {
  const client = new pg.Client({
    ...options,
    password: options.password,
    application_name: options.application_name === undefined ? undefined : `${options.application_name} (control)`,
  });
  client.on('error', (error: Error) => {
    logger.warn('control connection error', { error: error.message });
  });
  try {
    await client.connect();
    if (!statement.stillWanted()) return undefined;
    const result = await client.query(statement.sql, statement.parameters as unknown[]);
    return result.rowCount ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
