/** Temporary files for the config tests: each suite gets a directory, removed afterwards. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary directory of one test suite. */
export interface TempDir {
  readonly path: string;
  /** Writes `content` to `name` (sub-directories created) with `mode` (default 0600) and returns the absolute path. */
  write(name: string, content: string, mode?: number): string;
  /** Removes the directory and everything in it. */
  remove(): void;
}

/** Creates an empty temporary directory. */
export function createTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'alert-history-db-config-'));
  return {
    path,
    write(name, content, mode = 0o600) {
      const file = join(path, name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      chmodSync(file, mode);
      return file;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
