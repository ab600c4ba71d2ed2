import type { MigrationTarget } from './migration-session.js';
import type { MigrationRunResult } from './migration-types.js';
import { createMigrator, type MigratorOptions } from './migrator.js';

/** What {@link migrate} does: goose's commands that change the database. */
export type MigrateDirection = 'up' | 'down' | 'up-by-one' | 'redo' | 'reset';

/** Options of {@link migrate}: the migrator's, plus the command. */
export interface MigrateOptions extends MigratorOptions {
  /** Default `up`. */
  readonly direction?: MigrateDirection;
  /** With `up`: apply up to this version inclusive (`up-to`). With `down`: roll back every version above it (`down-to`; 0 rolls back all). Not allowed with the other directions. */
  readonly to?: number;
}

const DIRECTIONS: ReadonlySet<string> = new Set<MigrateDirection>(['up', 'down', 'up-by-one', 'redo', 'reset']);

/**
 * Runs one goose command on `target` and resolves with what ran and the version reached; a service
 * calls `await migrate(database)` at start to apply its pending migrations from `./migrations`.
 * Several instances starting together are serialised by the migration lock: the first applies,
 * the others find nothing to do. See `createMigrator` for the semantics and errors.
 *
 * @throws {TypeError} for an unknown `direction`, or `to` with `up-by-one`, `redo` or `reset`.
 */
export async function migrate(target: MigrationTarget, options: MigrateOptions = {}): Promise<MigrationRunResult> {
  const { direction = 'up', to, ...migratorOptions } = options;
  if (!DIRECTIONS.has(direction)) throw new TypeError(`direction must be one of ${[...DIRECTIONS].join(', ')}`);
  if (to !== undefined && direction !== 'up' && direction !== 'down') throw new TypeError(`to is allowed with direction up or down, not ${direction}`);
  const migrator = createMigrator(target, migratorOptions);
  switch (direction) {
    case 'up':
      return to === undefined ? migrator.up() : migrator.upTo(to);
    case 'down':
      return to === undefined ? migrator.down() : migrator.downTo(to);
    case 'up-by-one':
      return migrator.upByOne();
    case 'redo':
      return migrator.redo();
    case 'reset':
      return migrator.reset();
  }
}
