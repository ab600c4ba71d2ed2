import type { Dirent } from 'node:fs';
import { lstat, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MigrationSourceError } from '../errors/migration-error.js';
import type { EnvsubEnvironment } from './envsub.js';
import { parseMigration } from './migration-parser.js';
import type { Migration, MigrationFile } from './migration-types.js';

/** Options of {@link loadMigrations}. */
export interface LoadMigrationsOptions {
  /** Variables for `-- +goose ENVSUB ON` sections; default `process.env`. */
  readonly env?: EnvsubEnvironment;
}

/** Options of {@link createMigrationFile}. */
export interface CreateMigrationOptions {
  /**
   * Number the file after the highest sequential version (`00001`, `00002`, …, at least 5 digits)
   * instead of the UTC timestamp. Default `false`.
   */
  readonly sequential?: boolean;
  /** The time of the timestamp version; default now. */
  readonly now?: Date;
}

/** A file renamed by {@link fixMigrationFiles} (file names, no directory). */
export interface MigrationRename {
  /** The timestamp-versioned name the file had. */
  readonly from: string;
  /** Its new, sequential name. */
  readonly to: string;
}

/**
 * The version of a migration file name, as goose reads it: the file must end in `.sql`
 * (case-sensitive); its version is the text before the first `_`, read as a decimal integer (an
 * optional sign and leading zeros are accepted, as Go's `strconv.ParseInt` accepts them).
 *
 * @returns `undefined` when the name does not end in `.sql`: not a migration file (`.go` files,
 *   `README.md` and the like are ignored; goose's Go migrations are not supported).
 * @throws MigrationSourceError naming the file when a `.sql` name does not parse: no `_`, a
 *   prefix that is not an integer, a version below 1, a version above 2^53 − 1 (goose's limit is
 *   2^63 − 1; larger ones cannot be represented here). The goose CLI rejects such a file too
 *   (only its library's `Provider` skips it).
 */
export function parseMigrationFileName(fileName: string): {
  /** The version the name starts with, ≥ 1. */
  readonly version: number;
} | undefined {
  if (!fileName.endsWith('.sql')) return undefined;
  const separator = fileName.indexOf('_');
  const fail = (reason: string): never => {
    throw new MigrationSourceError(`not a valid migration file name: ${reason} (expected <version>_<name>.sql, e.g. 00001_create_tables.sql)`, { file: fileName });
  };
  if (separator < 0) fail('no "_" after the version');
  const prefix = fileName.slice(0, separator);
  if (!/^[+-]?[0-9]+$/.test(prefix)) fail(`the version ${JSON.stringify(prefix)} is not an integer`);
  const version = Number(prefix);
  if (version < 1) fail(`the version ${prefix} is not greater than zero`);
  if (!Number.isSafeInteger(version)) fail(`the version ${prefix} is larger than ${Number.MAX_SAFE_INTEGER}`);
  return { version };
}

/**
 * The migration files of `dir`, sorted by version (sequential and timestamp versions mix and sort
 * numerically). Only `*.sql` entries directly in `dir` count; directories (even one named
 * `00001_x.sql`) and other files are ignored; a symbolic link counts when it leads to a file.
 *
 * @throws MigrationSourceError when the directory cannot be read, when a `.sql` name does not parse
 *   (see {@link parseMigrationFileName}), or when two files have one version (naming both).
 */
export async function listMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const absolute = resolve(dir);
  const entries = await readDirectory(dir);
  const byVersion = new Map<number, string>();
  const files: MigrationFile[] = [];
  for (const entry of entries.filter((e) => e.name.endsWith('.sql')).sort((a, b) => compareText(a.name, b.name))) {
    const path = join(absolute, entry.name);
    if (!(await isFile(entry, path))) continue;
    const parsed = parseMigrationFileName(entry.name);
    if (parsed === undefined) continue;
    const existing = byVersion.get(parsed.version);
    if (existing !== undefined) {
      throw new MigrationSourceError(`duplicate migration version ${parsed.version}: ${existing} and ${entry.name}`, { file: entry.name });
    }
    byVersion.set(parsed.version, entry.name);
    files.push(Object.freeze({ version: parsed.version, fileName: entry.name, path }));
  }
  return files.sort((a, b) => a.version - b.version);
}

/**
 * Lists, reads and parses every migration of `dir` (see {@link listMigrationFiles} and
 * `parseMigration`), sorted by version. An empty directory gives an empty list.
 *
 * @throws MigrationSourceError naming the file (and the line, for what is wrong inside it).
 */
export async function loadMigrations(dir: string, options: LoadMigrationsOptions = {}): Promise<Migration[]> {
  const files = await listMigrationFiles(dir);
  const env = options.env ?? process.env;
  const texts = await Promise.allSettled(files.map((file) => readFile(file.path, 'utf8')));
  return files.map((file, index) => {
    const text = texts[index];
    if (text === undefined || text.status === 'rejected') {
      const cause: unknown = text?.status === 'rejected' ? text.reason : undefined;
      throw new MigrationSourceError(`cannot read the migration file: ${describe(cause)}`, { file: file.fileName }, { cause });
    }
    const parsed = parseMigration(text.value, { file: file.fileName, env });
    return Object.freeze({ ...file, ...parsed });
  });
}

/**
 * Writes a new migration file in `dir`, as `goose create NAME sql` does, and returns its path
 * (`dir` joined with the file name).
 *
 * The version is the UTC time `YYYYMMDDhhmmss`, or with `sequential` the highest sequential
 * version of `dir` plus one (timestamp versions are not counted, as in goose), zero-padded to 5
 * digits (`00001` when there is none). The name is turned into goose's snake case: runs of
 * letters and digits lower-cased, each run of other characters replaced by one `_`, leading ones
 * dropped, a trailing one kept unless the run is longer than one character (`"Add users!"` →
 * `add_users_`, `"add users!!"` → `add_users`; `"AddUsers"` → `addusers`). The file has an Up and
 * a Down section, each with a placeholder statement.
 *
 * @throws MigrationSourceError when the name has no letter or digit, when `dir` cannot be read or
 *   holds invalid migration names, when the version is already used, or when the file exists (it is
 *   never overwritten).
 */
export async function createMigrationFile(dir: string, name: string, options: CreateMigrationOptions = {}): Promise<string> {
  const snake = snakeCase(name);
  if (snake === '') throw new MigrationSourceError(`the migration name ${JSON.stringify(name)} has no letter or digit`);
  const files = await listMigrationFiles(dir);
  const version = options.sequential === true ? padVersion(nextSequentialVersion(files)) : timestampVersion(options.now ?? new Date());
  const fileName = `${version}_${snake}.sql`;
  const clash = files.find((file) => file.version === Number(version));
  if (clash !== undefined) {
    throw new MigrationSourceError(`cannot create the migration: version ${clash.version} is already used by ${clash.fileName}`, { file: fileName });
  }
  const path = join(dir, fileName);
  try {
    await writeFile(path, TEMPLATE, { flag: 'wx' });
  } catch (error) {
    const reason = errorCode(error) === 'EEXIST' ? 'the file already exists' : describe(error);
    throw new MigrationSourceError(`cannot create the migration: ${reason}`, { file: fileName }, { cause: error });
  }
  return path;
}

/**
 * Renames timestamp-versioned files to sequential versions, as `goose fix` does: the first one
 * (lowest timestamp) gets the highest sequential version plus one (`00001` when there is none),
 * the next one the following number, and so on, zero-padded to 5 digits; the rest of the name
 * (from the first `_`) is kept. Files already sequential are left alone.
 *
 * A version is a timestamp when its decimal digits are exactly 14 and read as a valid UTC date
 * and time `YYYYMMDDhhmmss` after 1970-01-01 00:00:00; it is sequential when they do not, or when
 * the date is before 1970 (`19700101000000` itself is neither, as in goose).
 *
 * Unlike goose, an empty directory is not an error (nothing is renamed), and no file is
 * overwritten: when a new name is taken, nothing is renamed.
 *
 * @returns The renames done, in order (file names).
 * @throws MigrationSourceError as {@link listMigrationFiles}, or when a rename fails (the renames
 *   done before it stay done; the message lists them).
 */
export async function fixMigrationFiles(dir: string): Promise<readonly MigrationRename[]> {
  const files = await listMigrationFiles(dir);
  let next = nextSequentialVersion(files);
  const plan = files
    .filter((file) => isTimestampVersion(file.version))
    .map((file) => ({ file, to: `${padVersion(next++)}${file.fileName.slice(file.fileName.indexOf('_'))}` }));
  for (const { file, to } of plan) {
    if (await exists(dir, to)) {
      throw new MigrationSourceError(`cannot rename ${file.fileName} to ${to}: ${to} already exists (nothing was renamed)`, { file: file.fileName });
    }
  }
  const done: MigrationRename[] = [];
  for (const { file, to } of plan) {
    try {
      await rename(file.path, join(dir, to));
    } catch (error) {
      const before = done.length === 0 ? 'nothing was renamed' : `renamed before: ${done.map((r) => `${r.from} → ${r.to}`).join(', ')}`;
      throw new MigrationSourceError(`cannot rename ${file.fileName} to ${to} (${before}): ${describe(error)}`, { file: file.fileName }, { cause: error });
    }
    done.push(Object.freeze({ from: file.fileName, to }));
  }
  return Object.freeze(done);
}

/** What a new migration file holds (no comment may mention the annotation marker, or it would be read as one). */
const TEMPLATE = `-- +goose Up
-- Applied by "up". End each statement with ";" at the end of a line; wrap a statement that
-- contains ";" itself (a function body, a DO block) in StatementBegin/StatementEnd annotations.
SELECT 'up SQL query';

-- +goose Down
-- Applied by "down": undo what the Up section does.
SELECT 'down SQL query';
`;

/** `19700101000000`: goose compares timestamp versions with the Unix epoch. */
const EPOCH_TIMESTAMP = '19700101000000';

/** The version's digits when they form a valid `YYYYMMDDhhmmss` date and time (Go's `time.Parse` rules). */
function validTimestamp(version: number): string | undefined {
  const digits = String(version);
  if (!/^[0-9]{14}$/.test(digits)) return undefined;
  const part = (from: number, to: number): number => Number(digits.slice(from, to));
  const [year, month, day, hour, minute, second] = [part(0, 4), part(4, 6), part(6, 8), part(8, 10), part(10, 12), part(12, 14)] as const;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return digits;
}

function isTimestampVersion(version: number): boolean {
  const digits = validTimestamp(version);
  return digits !== undefined && digits > EPOCH_TIMESTAMP;
}

function isSequentialVersion(version: number): boolean {
  const digits = validTimestamp(version);
  return digits === undefined || digits < EPOCH_TIMESTAMP;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The highest sequential version plus one, or 1. */
function nextSequentialVersion(files: readonly MigrationFile[]): number {
  let highest = 0;
  for (const file of files) if (isSequentialVersion(file.version) && file.version > highest) highest = file.version;
  const next = highest + 1;
  if (!Number.isSafeInteger(next)) throw new MigrationSourceError(`no sequential version follows ${highest}`);
  return next;
}

function padVersion(version: number): string {
  return String(version).padStart(5, '0');
}

function timestampVersion(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new MigrationSourceError('cannot create the migration: the time of its version is an invalid Date');
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${String(now.getUTCFullYear()).padStart(4, '0')}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}`;
}

type CaseState = 'idle' | 'first' | 'inside' | 'delimiter';

/** goose's `snakeCase`: a small state machine over letters/digits and everything else. */
function snakeCase(name: string): string {
  let state: CaseState = 'idle';
  let out = '';
  for (const ch of name) {
    state = nextCaseState(state, /^[\p{L}\p{N}]$/u.test(ch));
    if (state === 'first' || state === 'inside') out += ch.toLowerCase();
    else if (state === 'delimiter') out += '_';
  }
  return state === 'idle' && out.endsWith('_') ? out.slice(0, -1) : out;
}

function nextCaseState(state: CaseState, alphanumeric: boolean): CaseState {
  switch (state) {
    case 'idle':
      return alphanumeric ? 'first' : 'idle';
    case 'first':
      return alphanumeric ? 'inside' : 'delimiter';
    case 'inside':
      return alphanumeric ? 'inside' : 'delimiter';
    case 'delimiter':
      return alphanumeric ? 'first' : 'idle';
  }
}

async function readDirectory(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = errorCode(error);
    const reason =
      code === 'ENOENT'
        ? `the migrations directory ${dir} does not exist`
        : code === 'ENOTDIR'
          ? `the migrations directory ${dir} is not a directory`
          : `cannot read the migrations directory ${dir}: ${describe(error)}`;
    throw new MigrationSourceError(reason, {}, { cause: error });
  }
}

/** Whether a directory entry is a file, following a symbolic link (a broken one is an error). */
async function isFile(entry: Dirent, path: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    throw new MigrationSourceError(`cannot read the migration file: ${describe(error)}`, { file: entry.name }, { cause: error });
  }
}

/** Whether anything (a file, a directory, a link) has the name `fileName` in `dir`. */
async function exists(dir: string, fileName: string): Promise<boolean> {
  try {
    await lstat(join(dir, fileName));
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new MigrationSourceError(`cannot check whether the file exists: ${describe(error)}`, { file: fileName }, { cause: error });
  }
}

/** Code-unit order, as `Array.prototype.sort` without a comparator (spelled out for clarity). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
