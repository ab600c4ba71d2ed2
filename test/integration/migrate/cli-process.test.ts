import { join } from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runTsx, type ProcessRun } from '../../support/child-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { migration, tempDir, type TempDir } from './cli-support.js';

/** Runs the real entry point, `node --import tsx src/cli/main.ts <args…>`, from the repository root. */
function runMain(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runTsx(join('src', 'cli', 'main.ts'), args, env);
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
