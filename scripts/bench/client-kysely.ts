/** Kysely with its own `PostgresDialect` over a `pg.Pool`: the baseline every ratio is taken against. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { kyselyClient, type BenchDatabase } from './kysely-queries.js';
import type { BenchClient } from './workloads.js';

export function kyselyPostgresDialectClient(url: string, max: number): BenchClient {
  return kyselyClient(new Kysely<BenchDatabase>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max }) }) }));
}
