import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { testServer } from './test-server.js';

/** A database of its own for one suite, on the run's server. */
export interface TestDatabase {
  /** Connection string of the new database (with the password, for tests only). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string;
  /** Environment variables (`PGHOST`…) that point `loadConfig` at this database. */
  readonly env: Readonly<Record<string, string>>;
  /** Drops the database, disconnecting any session still in it. */
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServer().adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database named after `label` plus a random suffix, so that suites are
 * isolated from each other and can run in any order.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const database = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`));
  const admin = new URL(testServer().adminUrl);
  admin.pathname = `/${encodeURIComponent(database)}`;
  const url = admin.toString();
  const parsed = parse(url);
  const host = parsed.host ?? '127.0.0.1';
  const port = Number(parsed.port ?? 5432);
  const user = parsed.user ?? 'postgres';
  const password = parsed.password;
  const env: Record<string, string> = {
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: user,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
    ...(password ? { PGPASSWORD: password } : {}),
  };
  return Object.freeze({
    url,
    host,
    port,
    user,
    password,
    database,
    env: Object.freeze(env),
    drop: async () => {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`));
    },
  });
}
