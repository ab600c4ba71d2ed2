/**
 * The text `alert-history-db migrate` prints: goose's lines (`OK   00002_x.sql (12.3ms)`,
 * `goose: successfully migrated database to version: 2`, the status table), so that scripts and
 * people used to goose read the same thing.
 */
import type { AppliedMigration, Migration, MigrationStatusEntry } from './migration-types.js';

/** Where the command writes: `process.stdout`/`process.stderr`, or a test's buffer. */
export interface OutputStream {
  write(text: string): unknown;
}

/** `value` rounded to two decimals. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * A duration as goose prints one: Go's `time.Duration` notation at about three significant digits
 * (`812.5µs`, `12.34ms`, `1.5s`, `2m3.25s`).
 */
export function formatDuration(durationMs: number): string {
  const ms = Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 0;
  if (ms === 0) return '0s';
  const seconds = round2(ms / 1000);
  if (seconds >= 60) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds - hours * 3600) / 60);
    const rest = round2(seconds - hours * 3600 - minutes * 60);
    return `${hours > 0 ? `${hours}h` : ''}${minutes}m${rest}s`;
  }
  if (round2(ms) >= 1000) return `${seconds}s`;
  if (round2(ms * 1000) >= 1000) return `${round2(ms)}ms`;
  if (round2(ms * 1_000_000) >= 1000) return `${round2(ms * 1000)}µs`;
  return `${Math.round(ms * 1_000_000)}ns`;
}

/** One migration run: `OK   00002_x.sql (12.3ms)`, or `EMPTY 00002_x.sql (…)` when its section had no statements. */
export function formatApplied(applied: AppliedMigration): string {
  return `${applied.empty ? 'EMPTY' : 'OK  '} ${applied.fileName} (${formatDuration(applied.durationMs)})\n`;
}

/**
 * The closing line of a run: `goose: successfully migrated database to version: N` when
 * something ran, `goose: no migrations to run. current version: N` when nothing did.
 */
export function formatRunSummary(appliedCount: number, version: number): string {
  return appliedCount > 0
    ? `goose: successfully migrated database to version: ${version}\n`
    : `goose: no migrations to run. current version: ${version}\n`;
}

/** `goose: version N`. */
export function formatVersion(version: number): string {
  return `goose: version ${version}\n`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

/** A time in Go's `time.ANSIC` layout, in UTC: `Fri Nov 27 06:38:05 2026`. */
export function formatAnsic(date: Date): string {
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const clock = `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}`;
  return `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${clock} ${date.getUTCFullYear()}`;
}

/**
 * goose's status table: one line per migration file (`Pending` or when it was applied, in UTC;
 * `Applied (time unknown)` when its `tstamp` is NULL), plus applied versions whose file is gone.
 *
 * ```
 *     Applied At                  Migration
 *     =======================================
 *     Fri Nov 27 06:38:05 2026 -- 00001_alert_history_tables.sql
 *     Pending                  -- 00002_alert_history_indexes.sql
 * ```
 */
export function formatStatus(entries: readonly MigrationStatusEntry[]): string {
  const lines = ['    Applied At                  Migration', '    ======================================='];
  for (const entry of entries) {
    const when = entry.state === 'pending' ? 'Pending' : entry.appliedAt === undefined ? 'Applied (time unknown)' : formatAnsic(entry.appliedAt);
    const name = entry.fileName ?? `version ${entry.version} (no migration file)`;
    lines.push(`    ${when.padEnd(24)} -- ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What `validate` prints for valid files: a table (version, transaction or not, statements up and
 * down, file) and a closing line.
 */
export function formatValidation(migrations: readonly Migration[]): string {
  const header = ['Version', 'Txn', 'Up', 'Down', 'File'];
  const rows = migrations.map((m) => [String(m.version), m.useTransaction ? 'yes' : 'no', String(m.up.length), m.hasDown ? String(m.down.length) : '-', m.fileName]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('   ')
      .trimEnd();
  const plural = migrations.length === 1 ? '' : 's';
  const body = migrations.length === 0 ? [] : [line(header), ...rows.map(line)];
  return `${[...body, `goose: ${migrations.length} migration file${plural} valid`].join('\n')}\n`;
}
