import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../../src/config/postgres-config.js';
import type { TestDatabase } from './test-database.js';

/** An `application_name` no other test uses, to find a pool's sessions in `pg_stat_activity`. */
export function uniqueApplicationName(label: string): string {
  return `ahdb-${label}-${randomBytes(3).toString('hex')}`.slice(0, 60);
}

/**
 * A validated configuration for `db` (through `loadConfig`, as an application gets one), with
 * `overrides` as explicit options. Config warnings are ignored. The application name is unique
 * unless an override names one.
 */
export function poolConfig(db: TestDatabase, overrides: PostgresConfigInput = {}): PostgresConfig {
  return loadConfig(
    db.env,
    { applicationName: uniqueApplicationName('pool'), ...overrides },
    { onWarning: () => undefined },
  );
}
