import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The Unix socket directories taken to be libpq's compiled-in default (`DEFAULT_PGSOCKET_DIR`):
 * `/var/run/postgresql` (Debian, Ubuntu and their PostgreSQL packages) and `/tmp` (PostgreSQL's own
 * default). libpq knows only its own one; both are accepted here, as this library does not know
 * which libpq build the password file was written for. Compared as written (no trailing slash,
 * symbolic links not followed), as libpq compares.
 */
export const DEFAULT_SOCKET_DIRS: readonly string[] = Object.freeze(['/var/run/postgresql', '/tmp']);

/**
 * libpq's per-user directory: `$HOME/.postgresql` (`%APPDATA%\postgresql` on Windows).
 * Taken from the given environment only — never from the real home directory of the process —
 * so that `loadConfig(env)` depends on nothing but its arguments and the files they name.
 * `undefined` when the variable is unset.
 */
export function libpqUserDir(env: Env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return nonEmpty(env.APPDATA) === undefined ? undefined : join(env.APPDATA ?? '', 'postgresql');
  return nonEmpty(env.HOME) === undefined ? undefined : join(env.HOME ?? '', '.postgresql');
}

/** The password file: `PGPASSFILE`, else `$HOME/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows). */
export function pgpassPath(env: Env, platform: NodeJS.Platform = process.platform): string | undefined {
  const explicit = nonEmpty(env.PGPASSFILE);
  if (explicit !== undefined) return explicit;
  if (platform === 'win32') {
    const dir = libpqUserDir(env, platform);
    return dir === undefined ? undefined : join(dir, 'pgpass.conf');
  }
  return nonEmpty(env.HOME) === undefined ? undefined : join(env.HOME ?? '', '.pgpass');
}

/** libpq's default root certificate file: `~/.postgresql/root.crt`. */
export function defaultRootCertPath(env: Env, platform: NodeJS.Platform = process.platform): string | undefined {
  const dir = libpqUserDir(env, platform);
  return dir === undefined ? undefined : join(dir, 'root.crt');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
