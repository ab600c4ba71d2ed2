/** Helpers shared by the dialect suites. Everything runs against the real test server. */
import type { Generated } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../../src/config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../../../src/config/postgres-config.js';
import type { TestDatabase } from '../../support/test-database.js';

/** The configuration of a test database, with overrides (e.g. `{ maxConns: 1 }`). */
export function configOf(db: TestDatabase, overrides: PostgresConfigInput = {}): PostgresConfig {
  return loadConfig(db.env, overrides, { onWarning: () => undefined });
}

/** Runs one statement on a fresh connection of its own (an "other session"). */
export async function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(
  db: TestDatabase,
  sql: string,
  parameters: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<R>(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` until it returns true. The mocha timeout bounds the wait; no timing is asserted. */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether a statement whose text starts with `prefix` is running in the test database. */
export async function isRunning(db: TestDatabase, prefix: string): Promise<boolean> {
  const rows = await adminQuery<{ n: string }>(
    db,
    "select count(*) as n from pg_stat_activity where datname = current_database() and state = 'active' and query like $1 and pid <> pg_backend_pid()",
    [`${prefix}%`],
  );
  return Number(rows[0]?.n) > 0;
}

/** Whether a backend with this process id still exists. */
export async function backendExists(db: TestDatabase, pid: number): Promise<boolean> {
  const rows = await adminQuery<{ n: string }>(db, 'select count(*) as n from pg_stat_activity where pid = $1', [pid]);
  return Number(rows[0]?.n) > 0;
}

/** The schema and rows the suites share. */
export const PERSON_SCHEMA = `
  create table person (
    id serial primary key,
    first_name text not null,
    last_name text,
    email text unique,
    age int
  );
  create table pet (
    id serial primary key,
    owner_id int not null references person(id) on delete cascade,
    name text not null,
    species text not null
  );
`;

/** Tables of {@link PERSON_SCHEMA}, for `Kysely<PersonDatabase>`. */
export interface PersonDatabase {
  person: {
    id: Generated<number>;
    first_name: string;
    last_name: string | null;
    email: string | null;
    age: number | null;
  };
  pet: {
    id: Generated<number>;
    owner_id: number;
    name: string;
    species: string;
  };
}
