import { createDatabase, type CreateDatabaseOptions, type Database } from '../../../src/database/create-database.js';
import type { PostgresConfig, PostgresConfigInput } from '../../../src/config/postgres-config.js';

/** Whether this run of the chaos suite has multiplexing on (`CHAOS_MULTIPLEX=1`, the suite's second pass). */
export const CHAOS_MULTIPLEX = process.env.CHAOS_MULTIPLEX === '1';

/** Connections borrowed from the pool by anything but the multiplexer (the pool's `active`, less the shared connections). */
export function exclusiveActive(database: Pick<Database<unknown>, 'pool' | 'multiplexStats'>): number {
  return database.pool.stats().active - (database.multiplexStats()?.connections ?? 0);
}

/**
 * `createDatabase` for the chaos suite: without multiplexing, or with it in the suite's second pass
 * (`npm run test:chaos` runs it twice), so that every scenario also runs with shared connections.
 * `options.multiplex` is what that second pass uses (default `true`); the first ignores it.
 */
export function chaosDatabase<DB>(config: PostgresConfig | PostgresConfigInput, options: CreateDatabaseOptions = {}): Database<DB> {
  const { multiplex, ...rest } = options;
  return createDatabase<DB>(config, CHAOS_MULTIPLEX ? { ...rest, multiplex: multiplex ?? true } : rest);
}
