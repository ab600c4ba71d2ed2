import type pg from 'pg';
import { isLoadedConfig } from '../config/frozen-config.js';
import { loadConfig } from '../config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import { checkConfigInput } from '../dialect/pg-settings.js';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createPool } from '../pool/create-pool.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';

/**
 * Where migrations run:
 *
 * - a connection URL (`postgres://…`), read with `loadConfig` (the `PG*` variables of `env`
 *   fill in what it leaves out, as in libpq; `DATABASE_URL` is not read, the URL replaces it);
 * - a `PostgresConfig` from `loadConfig`, or `PostgresConfigInput` merged over `env`;
 * - an `InstrumentedPool`, or a `Database` from `createDatabase` (its `pool`).
 *
 * Each operation opens one dedicated session outside the pool (`openClient`), so migrations never
 * take a pooled connection from the application, and a pool built here from a URL or a
 * configuration is closed again afterwards.
 */
export type MigrationTarget =
  | string
  | PostgresConfig
  | PostgresConfigInput
  | InstrumentedPool
  | {
      /** The pool the session is opened from (e.g. a `Database`'s). */
      readonly pool: InstrumentedPool;
    };

/** `application_name` of a migration session (visible in `pg_stat_activity`). */
export const MIGRATION_APPLICATION_NAME = 'alert-history-db migrate';

/** Options of {@link withMigrationSession}. */
export interface MigrationSessionOptions {
  /** Environment for `loadConfig` (URL or configuration input). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where errors the session emits are reported. Default: silent. */
  readonly logger?: Logger;
}

/** The session handed to the work of {@link withMigrationSession}. */
export interface OpenMigrationSession {
  /** The dedicated client (simple query protocol for statements without values). */
  readonly client: pg.Client;
  /** True once the client emitted `error` or `end`: the session is gone (and with it any lock it held). */
  readonly broken: boolean;
}

function isPool(value: unknown): value is InstrumentedPool {
  return typeof value === 'object' && value !== null && typeof (value as { openClient?: unknown }).openClient === 'function';
}

/** The pool of `target`, and whether it was built here (and must be closed here). */
function poolOf(target: MigrationTarget, env: Readonly<Record<string, string | undefined>>): { readonly pool: InstrumentedPool; readonly owned: boolean } {
  if (isPool(target)) return { pool: target, owned: false };
  if (typeof target === 'object' && target !== null && 'pool' in target && isPool(target.pool)) return { pool: target.pool, owned: false };
  if (typeof target === 'string') {
    // the URL replaces DATABASE_URL (which loadConfig would otherwise report as ignored)
    const rest = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'DATABASE_URL'));
    return { pool: createPool(loadConfig(rest, { connectionString: target, minConns: 0 })), owned: true };
  }
  if (isLoadedConfig(target)) return { pool: createPool(target), owned: true };
  if (typeof target !== 'object' || target === null) {
    throw new TypeError('migration target must be a connection URL, a PostgresConfig, an InstrumentedPool or a Database');
  }
  return { pool: createPool(loadConfig(env, { ...checkConfigInput(target), minConns: 0 })), owned: true };
}

/**
 * Opens one dedicated session to `target` (`openClient({ applicationName: 'alert-history-db
 * migrate' })`), runs `work` on it, and always ends it (and closes the pool it built, if any).
 * The session's settings are the pool's (`statement_timeout`, TLS…). Errors the client emits
 * (the server terminated the session, the network failed) are logged and mark it
 * {@link OpenMigrationSession.broken}; they never crash the process: the pending query rejects.
 *
 * A `PostgresConfig` from `loadConfig` is used as it is, so a `minConns` above 0 makes the
 * temporary pool open that many idle connections until it is closed; configuration input and URLs
 * are loaded with `minConns: 0`.
 */
export async function withMigrationSession<T>(target: MigrationTarget, work: (session: OpenMigrationSession) => Promise<T>, options: MigrationSessionOptions = {}): Promise<T> {
  const logger = options.logger ?? silentLogger;
  const { pool, owned } = poolOf(target, options.env ?? process.env);
  try {
    const client = await pool.openClient({ applicationName: MIGRATION_APPLICATION_NAME });
    let broken = false;
    const onError = (error: Error): void => {
      broken = true;
      logger.warn('migration session failed', describeError(error));
    };
    const onEnd = (): void => {
      broken = true;
    };
    client.on('error', onError);
    client.on('end', onEnd);
    const session: OpenMigrationSession = Object.freeze({
      client,
      get broken() {
        return broken;
      },
    });
    try {
      return await work(session);
    } finally {
      client.off('end', onEnd);
      await client.end().catch((error: unknown) => logger.debug('ending the migration session failed', describeError(error)));
    }
  } finally {
    if (owned) await pool.close();
  }
}
