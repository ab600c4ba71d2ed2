import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { errorCode } from './file-access.js';
import { DEFAULT_SOCKET_DIRS } from './libpq-paths.js';

/** The connection a password is looked up for. */
export interface PgpassTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** The outcome of reading a password file: the password if a line matched, and any warning. */
export interface PgpassResult {
  readonly password: string | undefined;
  /** Why the file was not used (insecure permissions, not a plain file, unreadable). */
  readonly warning: string | undefined;
}

interface Field {
  readonly value: string;
  /** The field was written as a bare `*`. */
  readonly wildcard: boolean;
}

/**
 * Finds the password for `target` in the text of a libpq password file: lines of
 * `hostname:port:database:username:password`, the first matching line wins, `*` alone matches
 * anything, `\:` and `\\` are a literal colon and backslash, lines starting with `#` are comments.
 * As in libpq, the default Unix socket directory (see {@link DEFAULT_SOCKET_DIRS}) is looked up
 * as the host name `localhost`; any other socket directory must be written as it is.
 */
export function findPgpassPassword(text: string, target: PgpassTarget): string | undefined {
  const host = DEFAULT_SOCKET_DIRS.includes(target.host) ? 'localhost' : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const line of text.split('\n')) {
    const entry = line.replace(/\r$/, '');
    if (entry === '' || entry.startsWith('#')) continue;
    const fields = splitEntry(entry);
    if (fields === undefined) continue;
    if (wanted.every((value, index) => matches(fields[index], value))) {
      const password = fields[4]?.value ?? '';
      return password === '' ? undefined : password;
    }
  }
  return undefined;
}

/**
 * Reads the password file at `path` and looks `target` up in it. Like libpq, the file is ignored
 * — with a warning — when it is not a plain file or when group or others may access it (mode
 * wider than 0600; not checked on Windows). A missing file is silently ignored unless
 * `warnIfMissing` (the path was given in `PGPASSFILE`).
 */
export function readPgpass(
  path: string,
  target: PgpassTarget,
  warnIfMissing: boolean,
  platform: NodeJS.Platform = process.platform,
): PgpassResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' && !warnIfMissing) return { password: undefined, warning: undefined };
    return { password: undefined, warning: `password file "${path}" cannot be opened (${code ?? 'error'}); it is ignored` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { password: undefined, warning: `password file "${path}" is not a plain file; it is ignored` };
    if (platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      return {
        password: undefined,
        warning: `password file "${path}" has group or world access; permissions should be u=rw (0600) or less; it is ignored, as libpq ignores it`,
      };
    }
    return { password: findPgpassPassword(readFileSync(fd, 'utf8'), target), warning: undefined };
  } catch (error) {
    return { password: undefined, warning: `password file "${path}" cannot be read (${errorCode(error) ?? 'error'}); it is ignored` };
  } finally {
    closeSync(fd);
  }
}

/** Splits a line into its five fields, or `undefined` when it has fewer. The password ends at the next unescaped colon. */
function splitEntry(line: string): Field[] | undefined {
  const fields: Field[] = [];
  let value = '';
  let raw = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i] ?? '';
    if (char === '\\' && i + 1 < line.length) {
      value += line[i + 1] ?? '';
      raw += char + (line[i + 1] ?? '');
      i++;
    } else if (char === ':') {
      fields.push({ value, wildcard: raw === '*' });
      if (fields.length === 5) return fields;
      value = '';
      raw = '';
    } else {
      value += char;
      raw += char;
    }
  }
  fields.push({ value, wildcard: raw === '*' });
  return fields.length === 5 ? fields : undefined;
}

function matches(field: Field | undefined, wanted: string): boolean {
  return field !== undefined && (field.wildcard || field.value === wanted);
}
