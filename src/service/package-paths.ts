import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `migrations/` directory of this package: found by walking up from this module's directory
 * to the first one holding both `package.json` and `migrations/`, so it is the same from the
 * sources (`src/service/`, run by tsx) and the build (`dist/src/service/`), whatever the working
 * directory.
 *
 * @throws Error when no such directory exists above `from`.
 */
export function packageMigrationsDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return join(dir, 'migrations');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no migrations/ directory next to a package.json above ${from}`);
    dir = parent;
  }
}
