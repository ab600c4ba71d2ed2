import { spawnSync } from 'node:child_process';
import { expect } from 'chai';

/**
 * TEST_PG=testcontainers loads @testcontainers/postgresql (pinned to 11.x for Node 20) and
 * starts a container. Without a Docker engine (as on CI here) the run must stop at once with a
 * message saying what to do; with one, the suite must pass.
 */
describe('test support: TEST_PG=testcontainers', () => {
  it('runs on a container when Docker is there, and otherwise fails saying how to provide it', function () {
    this.timeout(240_000);
    const env: NodeJS.ProcessEnv = { ...process.env, TEST_PG: 'testcontainers' };
    delete env.DATABASE_URL;
    delete env.TEST_DATABASE_URL;
    for (const name of ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD']) delete env[name];
    const run = spawnSync(
      process.execPath,
      [
        'node_modules/mocha/bin/mocha.js',
        '--no-config',
        '--node-option',
        'import=tsx',
        '--require',
        'test/support/global-setup.ts',
        '--timeout',
        '180000',
        'test/integration/support/test-database.test.ts',
      ],
      { env, encoding: 'utf8', timeout: 200_000 },
    );
    const output = `${run.stdout}${run.stderr}`;
    if (run.status === 0) {
      expect(output).to.include('(testcontainers)');
      expect(output).to.match(/1 passing/);
    } else {
      expect(output).to.include('a running Docker engine is required');
      expect(output).to.include('unset TEST_PG');
    }
  });
});
