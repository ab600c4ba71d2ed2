/**
 * Chooses the PostgreSQL server the integration tests run against, once per test run:
 * - `TEST_DATABASE_URL` or `DATABASE_URL` set: that server (its database is used to create others);
 * - else libpq's `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE`/`PGPASSWORD` set: that server;
 * - `TEST_PG=testcontainers`: a throw-away container from `@testcontainers/postgresql` (needs Docker);
 * - otherwise: a private embedded PostgreSQL started for this run and removed after it.
 */
import type * as TestcontainersModule from '@testcontainers/postgresql';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/embedded-server.js';

export interface TestServer {
  /** Where the server came from, for the test log. */
  readonly origin: 'url' | 'testcontainers' | 'embedded';
  /** A connection string with rights to create and drop databases. */
  readonly adminUrl: string;
  /** The server's major version, e.g. 18. */
  readonly majorVersion: number;
  stop(): Promise<void>;
}

let current: TestServer | undefined;

async function serverVersion(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot reach the PostgreSQL server named by TEST_DATABASE_URL, DATABASE_URL or PG* variables (${reason}). ` +
        'Start that server, point the variable at a reachable one, or unset them all to let the tests start an embedded PostgreSQL.',
      { cause: error },
    );
  }
  try {
    const { rows } = await client.query<{ server_version_num: string }>('show server_version_num');
    return Math.floor(Number(rows[0]?.server_version_num) / 10000);
  } finally {
    await client.end();
  }
}

async function startTestcontainers(): Promise<TestServer> {
  let module: typeof TestcontainersModule;
  try {
    module = await import('@testcontainers/postgresql');
  } catch (error) {
    throw new Error('TEST_PG=testcontainers needs the dev dependency @testcontainers/postgresql: run `npm ci`.', { cause: error });
  }
  let container: Awaited<ReturnType<InstanceType<typeof module.PostgreSqlContainer>['start']>>;
  try {
    container = await new module.PostgreSqlContainer(process.env.TEST_PG_IMAGE ?? 'postgres:17-alpine').start();
  } catch (error) {
    throw new Error(
      'TEST_PG=testcontainers could not start a container: a running Docker engine is required. ' +
        'Start Docker, or unset TEST_PG to use the embedded PostgreSQL.',
      { cause: error },
    );
  }
  const adminUrl = container.getConnectionUri();
  return { origin: 'testcontainers', adminUrl, majorVersion: await serverVersion(adminUrl), stop: async () => void (await container.stop()) };
}

async function startEmbedded(): Promise<TestServer> {
  const server: EmbeddedServer = await startEmbeddedPostgres();
  const adminUrl = server.connectionString('postgres');
  return { origin: 'embedded', adminUrl, majorVersion: await serverVersion(adminUrl), stop: () => server.stop() };
}

const LIBPQ_TARGET_VARIABLES = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD'] as const;

/** A URL for the server the libpq variables name, or undefined when none is set. */
function urlFromLibpqVariables(env: NodeJS.ProcessEnv): string | undefined {
  if (!LIBPQ_TARGET_VARIABLES.some((name) => env[name])) return undefined;
  const url = new URL('postgres://localhost');
  const host = env.PGHOST || 'localhost';
  if (host.startsWith('/')) url.searchParams.set('host', host);
  else url.hostname = host;
  if (env.PGPORT) url.port = env.PGPORT;
  url.username = encodeURIComponent(env.PGUSER || 'postgres');
  if (env.PGPASSWORD) url.password = encodeURIComponent(env.PGPASSWORD);
  url.pathname = `/${encodeURIComponent(env.PGDATABASE || env.PGUSER || 'postgres')}`;
  return url.toString();
}

/** Starts (or connects to) the run's server. Called once by the global setup. */
export async function startTestServer(): Promise<TestServer> {
  if (current) return current;
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || urlFromLibpqVariables(process.env);
  if (url) {
    current = { origin: 'url', adminUrl: url, majorVersion: await serverVersion(url), stop: async () => undefined };
  } else if (process.env.TEST_PG === 'testcontainers') {
    current = await startTestcontainers();
  } else {
    current = await startEmbedded();
  }
  return current;
}

/** The run's server; fails with a clear message when the global setup did not run. */
export function testServer(): TestServer {
  if (!current) {
    throw new Error('no test server: run integration tests with `npm run test:integration` (it loads test/support/global-setup.ts).');
  }
  return current;
}

/** Stops the run's server if this run started it. */
export async function stopTestServer(): Promise<void> {
  const server = current;
  current = undefined;
  await server?.stop();
}
