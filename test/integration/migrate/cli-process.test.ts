import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { migration, tempDir, type TempDir } from './cli-support.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What the process did. */
interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** This process's environment without any connection or goose setting, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !/^(PG|DB_|GOOSE_|DATABASE_URL$|TEST_DATABASE_URL$)/.test(name));
  // NODE_V8_COVERAGE: '' keeps c8 out of the child (Node passes the variable on unless it is set):
  // the child's coverage of the same sources, loaded through its own tsx, merges into wrong line counts
  return { ...Object.fromEntries(kept), NODE_V8_COVERAGE: '', ...extra };
}

/** Runs the real entry point, `node --import tsx src/cli/main.ts <args…>`, from the repository root. */
function runMain(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join('src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

describe('alert-history-db: the executable (src/cli/main.ts in a child process)', () => {
  let db: TestDatabase;
  let dir: TempDir;

  before(async () => {
    db = await createTestDatabase('cli-process');
    dir = await tempDir({ '00001_create_probe.sql': migration('CREATE TABLE probe (id int);', 'DROP TABLE probe;') });
  });

  after(async () => {
    await dir?.remove();
    await db?.drop();
  });

  it('migrate status and up against DATABASE_URL: exit status 0, goose output on stdout', async () => {
    const env = cleanEnv({ DATABASE_URL: db.url });
    const status = await runMain(['migrate', 'status', '--dir', dir.path], env);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('    Pending                  -- 00001_create_probe.sql\n');

    const up = await runMain(['migrate', 'up', '--dir', dir.path], env);
    expect(up.code, up.stderr).to.equal(0);
    expect(up.stdout).to.match(/^OK {3}00001_create_probe\.sql \([^)]+\)\ngoose: successfully migrated database to version: 1\n$/);
    expect(up.stderr).to.equal('');
  });

  it('a failure exits with status 1 and one line on stderr; a wrong command line with status 2', async () => {
    const failed = await runMain(['migrate', 'status', '--dir', dir.path], cleanEnv({ PGHOST: '127.0.0.1', PGPORT: '0' }));
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/^alert-history-db migrate: invalid PostgreSQL configuration: PGPORT: [^\n]+\n$/);

    const usage = await runMain(['migrate', 'sideways'], cleanEnv({}));
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/^alert-history-db migrate: unknown command "sideways"\n/);
    expect(usage.stderr).to.include('Usage: alert-history-db migrate');
  });
});
