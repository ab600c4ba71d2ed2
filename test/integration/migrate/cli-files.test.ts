import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLI_USAGE } from '../../../src/cli/run-cli.js';
import { MIGRATE_USAGE } from '../../../src/migrate/migrate-command.js';
import { cli, migration, tempDir, type TempDir } from './cli-support.js';

/**
 * Commands that need no database (create, fix, validate) and command lines that are wrong. The
 * environment names no server at all: these must not try to connect.
 */
describe('alert-history-db migrate: files and command lines', () => {
  let dir: TempDir;

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    await dir.remove();
  });

  describe('create', () => {
    it('writes a timestamp-versioned file with Up and Down sections and prints its path', async () => {
      const run = await cli(['migrate', 'create', 'Add Silences', '--dir', dir.path]);
      expect(run.code, run.stderr).to.equal(0);
      const files = await readdir(dir.path);
      expect(files).to.have.length(1);
      expect(files[0]).to.match(/^[0-9]{14}_add_silences\.sql$/);
      expect(run.stdout).to.equal(`Created new file: ${join(dir.path, files[0] ?? '')}\n`);
      const text = await readFile(join(dir.path, files[0] ?? ''), 'utf8');
      expect(text).to.include('-- +goose Up');
      expect(text).to.include('-- +goose Down');
    });

    it('--sequential numbers after the highest sequential version; the path is relative to the working directory', async () => {
      await dir.write('00007_existing.sql', migration('SELECT 1;', 'SELECT 1;'));
      const here = await cli(['migrate', '--sequential', 'create', 'next_one', 'sql', '--dir', '.'], {}, dir.path);
      expect(here).to.deep.include({ code: 0, stdout: 'Created new file: 00008_next_one.sql\n', stderr: '' });
    });

    it('refuses go migrations and a name without letters or digits', async () => {
      const go = await cli(['migrate', 'create', 'x', 'go', '--dir', dir.path]);
      expect(go.code).to.equal(2);
      const empty = await cli(['migrate', 'create', '!!!', '--dir', dir.path]);
      expect(empty.code).to.equal(1);
      expect(empty.stderr).to.match(/^alert-history-db migrate: [^\n]*letter or digit[^\n]*\n$/);
      expect(await readdir(dir.path)).to.deep.equal([]);
    });

    it('GOOSE_MIGRATION_DIR is the directory when --dir is not given', async () => {
      const run = await cli(['migrate', 'create', 'from_env', '--sequential'], { GOOSE_MIGRATION_DIR: dir.path });
      expect(run.code).to.equal(0);
      expect(await readdir(dir.path)).to.deep.equal(['00001_from_env.sql']);
    });
  });

  describe('fix', () => {
    it('renames timestamp versions to sequential ones after the highest sequential version', async () => {
      await dir.write('00001_first.sql', migration('SELECT 1;', 'SELECT 1;'));
      await dir.write('20260101120000_second.sql', migration('SELECT 2;', 'SELECT 2;'));
      await dir.write('20260102120000_third.sql', migration('SELECT 3;', 'SELECT 3;'));
      const run = await cli(['migrate', 'fix', '--dir', dir.path]);
      expect(run).to.deep.include({
        code: 0,
        stdout: 'RENAMED 20260101120000_second.sql => 00002_second.sql\nRENAMED 20260102120000_third.sql => 00003_third.sql\n',
        stderr: '',
      });
      expect((await readdir(dir.path)).sort()).to.deep.equal(['00001_first.sql', '00002_second.sql', '00003_third.sql']);
      expect((await cli(['migrate', 'fix', '--dir', dir.path])).code).to.equal(0);
    });
  });

  describe('validate', () => {
    it('a valid directory: a table of the files, exit status 0', async () => {
      await dir.write('00001_a.sql', migration('CREATE TABLE a (id int);\nCREATE TABLE b (id int);', 'DROP TABLE b;\nDROP TABLE a;'));
      await dir.write('00002_b.sql', '-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n');
      const run = await cli(['migrate', 'validate', '--dir', dir.path]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.split('\n')).to.deep.equal([
        'Version   Txn   Up   Down   File',
        '1         yes   2    2      00001_a.sql',
        '2         no    1    -      00002_b.sql',
        'goose: 2 migration files valid',
        '',
      ]);
    });

    it('the real migrations/ directory is valid', async () => {
      const run = await cli(['migrate', 'validate', '--dir', 'migrations'], {}, process.cwd());
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.match(/00001_alert_history_tables\.sql/);
    });

    it('a broken file: one line naming file:line, exit status 1', async () => {
      await dir.write('00001_ok.sql', migration('SELECT 1;', 'SELECT 1;'));
      await dir.write('00002_broken.sql', '-- +goose Up\nSELECT 1;\n-- +goose StatementEnd\n');
      const run = await cli(['migrate', 'validate', '--dir', dir.path]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.match(/^alert-history-db migrate: 00002_broken\.sql:3: [^\n]+\n$/);
    });

    it('an invalid file name and a directory that does not exist fail with exit status 1', async () => {
      await dir.write('first_no_version.sql', migration('SELECT 1;', 'SELECT 1;'));
      const name = await cli(['migrate', 'validate', '--dir', dir.path]);
      expect(name.code).to.equal(1);
      expect(name.stderr).to.match(/^alert-history-db migrate: first_no_version\.sql: [^\n]+\n$/);
      const missing = await cli(['migrate', 'validate', '--dir', join(dir.path, 'absent')]);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.match(/^alert-history-db migrate: [^\n]+\n$/);
    });
  });

  describe('command lines', () => {
    const usageError = async (argv: string[], reason: RegExp): Promise<void> => {
      const run = await cli(argv);
      expect(run.code, `${argv.join(' ')}: ${run.stderr}`).to.equal(2);
      expect(run.stdout).to.equal('');
      const [first, ...rest] = run.stderr.split('\n');
      expect(first).to.match(reason);
      expect(rest.join('\n')).to.include('Usage: alert-history-db');
    };

    it('--help prints the usage on stdout with exit status 0', async () => {
      expect(await cli(['migrate', '--help'])).to.deep.equal({ code: 0, stdout: MIGRATE_USAGE, stderr: '' });
      expect(await cli(['migrate', 'up', '-h'])).to.deep.equal({ code: 0, stdout: MIGRATE_USAGE, stderr: '' });
      expect(await cli(['--help'])).to.deep.equal({ code: 0, stdout: CLI_USAGE, stderr: '' });
    });

    it('no command, an unknown command or option: the reason and the usage on stderr, exit status 2', async () => {
      await usageError([], /^alert-history-db: no command given$/);
      await usageError(['migrations'], /^alert-history-db: unknown command "migrations"$/);
      await usageError(['migrate'], /^alert-history-db migrate: no command given$/);
      await usageError(['migrate', 'upp'], /^alert-history-db migrate: unknown command "upp"$/);
      await usageError(['migrate', 'up', '--force'], /^alert-history-db migrate: .*--force/);
      await usageError(['migrate', 'up', '--dir'], /^alert-history-db migrate: .*--dir/);
    });

    it('wrong arguments of a command: exit status 2', async () => {
      await usageError(['migrate', 'up-to'], /needs a VERSION/);
      await usageError(['migrate', 'up-to', '0'], /integer ≥ 1/);
      await usageError(['migrate', 'down-to', '-1'], /.+/);
      await usageError(['migrate', 'down-to', '1.5'], /integer ≥ 0/);
      await usageError(['migrate', 'up-to', '1', '2'], /takes one VERSION/);
      await usageError(['migrate', 'up', 'now'], /takes no argument/);
      await usageError(['migrate', 'create'], /needs a NAME/);
      await usageError(['migrate', 'status', '--table', ''], /--table/);
    });
  });
});
