import { expect } from 'chai';
import pg from 'pg';
import { runCli } from '../../../src/cli/run-cli.js';
import { MIGRATION_LOCK_ID } from '../../../src/migrate/migration-lock.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { cli, migration, tempDir, type TempDir } from './cli-support.js';
import { eventually } from '../dialect/dialect-support.js';
import { relationExists, resetDatabase, versionRows } from './migrate-support.js';

/** An OK line of goose: the file and a duration in Go's notation. */
const okLine = (file: string): RegExp => new RegExp(`^OK   ${file.replace(/\./g, '\\.')} \\([0-9.]+(ns|µs|ms|s)\\)$`);
const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('alert-history-db migrate: commands on a database', () => {
  let db: TestDatabase;
  let dir: TempDir;
  let env: Record<string, string>;

  before(async () => {
    db = await createTestDatabase('cli-database');
    env = { DATABASE_URL: db.url };
    dir = await tempDir({
      '00001_create_silence.sql': migration('CREATE TABLE silence (id bigint PRIMARY KEY);', 'DROP TABLE silence;'),
      '00002_add_comment.sql': migration('ALTER TABLE silence ADD COLUMN comment text;', 'ALTER TABLE silence DROP COLUMN comment;'),
      '00003_index_comment.sql': migration(
        'CREATE INDEX CONCURRENTLY silence_comment_idx ON silence (comment);',
        'DROP INDEX CONCURRENTLY silence_comment_idx;',
        '-- +goose NO TRANSACTION\n',
      ),
    });
  });

  after(async () => {
    await dir?.remove();
    await db?.drop();
  });

  beforeEach(async () => {
    await resetDatabase(db);
  });

  const migrate = (...args: string[]) => cli(['migrate', ...args, '--dir', dir.path], env);

  it('status lists every file as pending on a new database, and creates the version table', async () => {
    const run = await migrate('status');
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal('');
    expect(lines(run.stdout)).to.deep.equal([
      '    Applied At                  Migration',
      '    =======================================',
      '    Pending                  -- 00001_create_silence.sql',
      '    Pending                  -- 00002_add_comment.sql',
      '    Pending                  -- 00003_index_comment.sql',
    ]);
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
  });

  it('up applies everything with one OK line each, then says there is nothing to run', async () => {
    const up = await migrate('up');
    expect(up.code).to.equal(0);
    expect(up.stderr).to.equal('');
    const out = lines(up.stdout);
    expect(out).to.have.length(4);
    expect(out[0]).to.match(okLine('00001_create_silence.sql'));
    expect(out[1]).to.match(okLine('00002_add_comment.sql'));
    expect(out[2]).to.match(okLine('00003_index_comment.sql'));
    expect(out[3]).to.equal('goose: successfully migrated database to version: 3');
    expect(await relationExists(db, 'silence_comment_idx')).to.equal(true);

    const again = await migrate('up');
    expect(again).to.deep.include({ code: 0, stdout: 'goose: no migrations to run. current version: 3\n', stderr: '' });
  });

  it('status shows when each was applied (UTC, Go ANSIC layout); version prints the version', async () => {
    await migrate('up-to', '2');
    const status = lines((await migrate('status')).stdout);
    expect(status[2]).to.match(/^ {4}(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] [0-9]{4} -- 00001_create_silence\.sql$/);
    expect(status[3]).to.match(/ -- 00002_add_comment\.sql$/);
    expect(status[4]).to.equal('    Pending                  -- 00003_index_comment.sql');
    expect(await migrate('version')).to.deep.include({ code: 0, stdout: 'goose: version 2\n' });
  });

  it('down-to 0 rolls everything back newest first, and up applies it all again', async () => {
    await migrate('up');
    const down = await migrate('down-to', '0');
    expect(down.code).to.equal(0);
    const out = lines(down.stdout);
    expect(out.slice(0, 3).map((line) => line.split(' ').slice(0, 4).join(' '))).to.deep.equal([
      'OK   00003_index_comment.sql',
      'OK   00002_add_comment.sql',
      'OK   00001_create_silence.sql',
    ]);
    expect(out[3]).to.equal('goose: successfully migrated database to version: 0');
    expect(await relationExists(db, 'silence')).to.equal(false);
    expect((await migrate('version')).stdout).to.equal('goose: version 0\n');

    const up = await migrate('up');
    expect(up.code).to.equal(0);
    expect(lines(up.stdout).at(-1)).to.equal('goose: successfully migrated database to version: 3');
    expect(await relationExists(db, 'silence_comment_idx')).to.equal(true);
  });

  it('up-by-one, down, redo and reset', async () => {
    expect(lines((await migrate('up-by-one')).stdout)).to.satisfy((out: string[]) => okLine('00001_create_silence.sql').test(out[0] ?? ''));
    expect((await migrate('version')).stdout).to.equal('goose: version 1\n');
    await migrate('up');

    const down = await migrate('down');
    expect(down.code).to.equal(0);
    expect(lines(down.stdout)[0]).to.match(okLine('00003_index_comment.sql'));
    expect(lines(down.stdout)[1]).to.equal('goose: successfully migrated database to version: 2');

    const redo = await migrate('redo');
    expect(redo.code).to.equal(0);
    expect(lines(redo.stdout).slice(0, 2).every((line) => okLine('00002_add_comment.sql').test(line))).to.equal(true);
    expect(lines(redo.stdout)[2]).to.equal('goose: successfully migrated database to version: 2');

    const reset = await migrate('reset');
    expect(reset.code).to.equal(0);
    expect(lines(reset.stdout)).to.have.length(3);
    expect(lines(reset.stdout)[2]).to.equal('goose: successfully migrated database to version: 0');
    expect(await versionRows(db)).to.deep.equal([{ version: 0, applied: true }]);
  });

  it('down at version 0 and up-by-one with nothing pending fail with one line and exit status 1', async () => {
    const down = await migrate('down');
    expect(down.code).to.equal(1);
    expect(down.stdout).to.equal('');
    expect(down.stderr).to.match(/^alert-history-db migrate: [^\n]*version 0[^\n]*\n$/);

    await migrate('up');
    const next = await migrate('up-by-one');
    expect(next.code).to.equal(1);
    expect(next.stderr).to.match(/^alert-history-db migrate: [^\n]+\n$/);
  });

  it('a failing migration: the ones before it stay applied, one line names file:line and the SQLSTATE, exit status 1', async () => {
    const failing = await tempDir({
      '00001_ok.sql': migration('CREATE TABLE kept (id int);', 'DROP TABLE kept;'),
      '00002_broken.sql': migration('CREATE TABLE lost (id int);\nINSERT INTO missing_table VALUES (1);', 'DROP TABLE lost;'),
    });
    try {
      const run = await cli(['migrate', 'up', '--dir', failing.path], env);
      expect(run.code).to.equal(1);
      expect(lines(run.stdout)).to.have.length(1);
      expect(lines(run.stdout)[0]).to.match(okLine('00001_ok.sql'));
      expect(run.stderr).to.equal(
        'alert-history-db migrate: migration up failed: 00002_broken.sql:3: relation "missing_table" does not exist (SQLSTATE 42P01)\n',
      );
      expect(await relationExists(db, 'kept')).to.equal(true);
      expect(await relationExists(db, 'lost')).to.equal(false);
      expect((await cli(['migrate', 'version', '--dir', failing.path], env)).stdout).to.equal('goose: version 1\n');
    } finally {
      await failing.remove();
    }
  });

  it('missing (out-of-order) migrations stop up unless --allow-missing', async () => {
    const gap = await tempDir({
      '00001_a.sql': migration('CREATE TABLE a (id int);', 'DROP TABLE a;'),
      '00003_c.sql': migration('CREATE TABLE c (id int);', 'DROP TABLE c;'),
    });
    try {
      const run = (...args: string[]) => cli(['migrate', ...args, '--dir', gap.path], env);
      expect((await run('up')).code).to.equal(0);
      await gap.write('00002_b.sql', migration('CREATE TABLE b (id int);', 'DROP TABLE b;'));
      const refused = await run('up');
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/^alert-history-db migrate: .*00002_b\.sql.*--allow-missing.*\n$/);
      expect(await relationExists(db, 'b')).to.equal(false);
      const allowed = await run('up', '--allow-missing');
      expect(allowed.code).to.equal(0);
      expect(lines(allowed.stdout)[0]).to.match(okLine('00002_b.sql'));
      expect(lines(allowed.stdout)[1]).to.equal('goose: successfully migrated database to version: 3');
    } finally {
      await gap.remove();
    }
  });

  it('--table (or GOOSE_TABLE) names the version table', async () => {
    expect((await migrate('up-to', '1', '--table', 'cli_versions')).code).to.equal(0);
    expect(await versionRows(db, 'cli_versions')).to.deep.equal([
      { version: 0, applied: true },
      { version: 1, applied: true },
    ]);
    expect(await relationExists(db, 'goose_db_version')).to.equal(false);
    const viaEnv = await cli(['migrate', 'version', '--dir', dir.path], { ...env, GOOSE_TABLE: 'cli_versions' });
    expect(viaEnv.stdout).to.equal('goose: version 1\n');
  });

  it('waits for the migration lock held by another session, says so on stderr, then runs', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      const { rows } = await holder.query<{ pid: number }>('select pg_backend_pid() as pid, pg_advisory_lock($1)', [String(MIGRATION_LOCK_ID)]);
      let stdout = '';
      let stderr = '';
      const run = runCli(['migrate', 'up', '--dir', dir.path], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        env,
      });
      await eventually(async () => stderr.includes('waiting for the migration lock'));
      expect(stdout).to.equal('');
      expect(stderr).to.match(new RegExp(`^alert-history-db migrate: waiting for the migration lock[^\n]*\\(backend pid ${rows[0]?.pid}\\)\n`));
      await holder.query('select pg_advisory_unlock($1)', [String(MIGRATION_LOCK_ID)]);
      expect(await run).to.equal(0);
      expect(stdout.split('\n').filter((l) => l !== '').at(-1)).to.equal('goose: successfully migrated database to version: 3');
    } finally {
      await holder.end();
    }
  });

  describe('connection settings', () => {
    it('GOOSE_DBSTRING as a URL, and as libpq key=value settings', async () => {
      const url = await cli(['migrate', 'up-to', '1', '--dir', dir.path], { GOOSE_DRIVER: 'postgres', GOOSE_DBSTRING: db.url });
      expect(url.code, url.stderr).to.equal(0);
      const settings = [
        `host=${db.host}`,
        `port=${db.port}`,
        `user=${db.user}`,
        `dbname='${db.database}'`,
        'sslmode=disable',
        ...(db.password === undefined ? [] : [`password='${db.password.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`]),
      ].join(' ');
      const keywords = await cli(['migrate', 'version', '--dir', dir.path], { GOOSE_DBSTRING: settings });
      expect(keywords).to.deep.include({ code: 0, stdout: 'goose: version 1\n' });
    });

    it('the PG* variables, when neither DATABASE_URL nor GOOSE_DBSTRING is set', async () => {
      const run = await cli(['migrate', 'version', '--dir', dir.path], db.env);
      expect(run).to.deep.include({ code: 0, stdout: 'goose: version 0\n', stderr: '' });
    });

    it('DATABASE_URL wins over GOOSE_DBSTRING', async () => {
      const run = await cli(['migrate', 'version', '--dir', dir.path], { DATABASE_URL: db.url, GOOSE_DBSTRING: 'this is not a connection string' });
      expect(run).to.deep.include({ code: 0, stdout: 'goose: version 0\n' });
    });

    it('an unreachable server: one line, exit status 1, never the password', async () => {
      const run = await cli(['migrate', 'status', '--dir', dir.path], {
        DATABASE_URL: 'postgres://someone:correct-horse-battery@127.0.0.1:1/nowhere?connect_timeout=5',
      });
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.match(/^alert-history-db migrate: [^\n]+\n$/);
      expect(run.stderr).to.include('ECONNREFUSED');
      expect(run.stderr).not.to.include('correct-horse-battery');
    });

    it('an invalid configuration: every problem on one line, exit status 1', async () => {
      const run = await cli(['migrate', 'status', '--dir', dir.path], { PGHOST: '127.0.0.1', PGPORT: 'eighty', PGSSLMODE: 'sometimes' });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/^alert-history-db migrate: invalid PostgreSQL configuration: PGPORT: [^\n]*; PGSSLMODE: [^\n]*\n$/);
    });

    it('GOOSE_DRIVER other than postgres, and a GOOSE_DBSTRING that is neither URL nor settings, are refused', async () => {
      const driver = await cli(['migrate', 'status', '--dir', dir.path], { GOOSE_DRIVER: 'mysql', GOOSE_DBSTRING: db.url });
      expect(driver.code).to.equal(1);
      expect(driver.stderr).to.include('GOOSE_DRIVER');
      const garbage = await cli(['migrate', 'status', '--dir', dir.path], { GOOSE_DBSTRING: 'user:secret-value@/db' });
      expect(garbage.code).to.equal(1);
      expect(garbage.stderr).to.include('GOOSE_DBSTRING');
      expect(garbage.stderr).not.to.include('secret-value');
    });
  });
});
