import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { MigrationSourceError } from '../../../src/errors/migration-error.js';
import {
  createMigrationFile,
  fixMigrationFiles,
  listMigrationFiles,
  loadMigrations,
  parseMigrationFileName,
} from '../../../src/migrate/migration-files.js';
import { parseMigration } from '../../../src/migrate/migration-parser.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'migrations');
const fixtureDir = (name: string): string => join(FIXTURES, name);

const UP_DOWN = '-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n';

/** The error `promise` rejects with; checks it is a MigrationSourceError naming `file` (`undefined`: none). */
async function rejection(promise: Promise<unknown>, file: string | undefined): Promise<MigrationSourceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(MigrationSourceError);
    const sourceError = error as MigrationSourceError;
    expect(sourceError.file, sourceError.message).to.equal(file);
    return sourceError;
  }
  return expect.fail('expected a MigrationSourceError');
}

function nameError(fileName: string): MigrationSourceError {
  try {
    parseMigrationFileName(fileName);
  } catch (error) {
    expect(error).to.be.instanceOf(MigrationSourceError);
    expect((error as MigrationSourceError).file).to.equal(fileName);
    return error as MigrationSourceError;
  }
  return expect.fail(`expected ${fileName} to be rejected`);
}

describe('migration files', () => {
  let temp: string;
  const write = async (name: string, content = UP_DOWN): Promise<void> => writeFile(join(temp, name), content);
  const names = async (): Promise<string[]> => (await readdir(temp)).sort();

  beforeEach(async () => {
    temp = await mkdtemp(join(tmpdir(), 'alert-history-db-migration-files-'));
  });

  afterEach(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  describe('parseMigrationFileName', () => {
    it('reads the integer before the first "_" of a .sql name', () => {
      expect(parseMigrationFileName('00001_create_alert.sql')).to.deep.equal({ version: 1 });
      expect(parseMigrationFileName('20240101120000_add_rule.sql')).to.deep.equal({ version: 20240101120000 });
      expect(parseMigrationFileName('42_with_more_parts.v2.sql')).to.deep.equal({ version: 42 });
      expect(parseMigrationFileName('7_.sql')).to.deep.equal({ version: 7 });
      expect(parseMigrationFileName('+8_signed.sql')).to.deep.equal({ version: 8 });
      expect(parseMigrationFileName('9007199254740991_largest.sql')).to.deep.equal({ version: Number.MAX_SAFE_INTEGER });
    });

    it('returns undefined for names that do not end in .sql', () => {
      for (const name of ['README.md', '00001_helpers.go', '00001_upper.SQL', '00001_x.sql.bak', 'notes']) {
        expect(parseMigrationFileName(name), name).to.equal(undefined);
      }
    });

    it('rejects a .sql name without "_", with a prefix that is not an integer, or with a version below 1', () => {
      expect(nameError('00001.sql').message).to.equal(
        '00001.sql: not a valid migration file name: no "_" after the version (expected <version>_<name>.sql, e.g. 00001_create_tables.sql)',
      );
      expect(nameError('create_alert.sql').message).to.contain('the version "create" is not an integer');
      expect(nameError('_alert.sql').message).to.contain('the version "" is not an integer');
      expect(nameError('1a_alert.sql').message).to.contain('the version "1a" is not an integer');
      expect(nameError(' 1_alert.sql').message).to.contain('is not an integer');
      expect(nameError('00000_zero.sql').message).to.contain('the version 00000 is not greater than zero');
      expect(nameError('-3_negative.sql').message).to.contain('the version -3 is not greater than zero');
      expect(nameError('.sql').message).to.contain('no "_"');
    });

    it('rejects a version above 2^53 - 1', () => {
      expect(nameError('9007199254740992_too_large.sql').message).to.contain('is larger than 9007199254740991');
    });
  });

  describe('listMigrationFiles', () => {
    it('lists the .sql files sorted by version, ignoring other files and directories', async () => {
      const files = await listMigrationFiles(fixtureDir('files-mixed'));
      expect(files.map((f) => [f.version, f.fileName])).to.deep.equal([
        [1, '00001_create_alert.sql'],
        [2, '2_add_note.sql'],
        [10, '00010_index_note.sql'],
        [20240101120000, '20240101120000_add_rule.sql'],
      ]);
      expect(files.map((f) => f.path)).to.deep.equal(files.map((f) => join(fixtureDir('files-mixed'), f.fileName)));
    });

    it('gives absolute paths for a relative directory', async () => {
      await write('00001_a.sql');
      const files = await listMigrationFiles(relative(process.cwd(), temp));
      expect(files[0]?.path).to.equal(join(temp, '00001_a.sql'));
    });

    it('returns an empty list for an empty directory', async () => {
      expect(await listMigrationFiles(temp)).to.deep.equal([]);
    });

    it('rejects two files with one version, naming both', async () => {
      const error = await rejection(listMigrationFiles(fixtureDir('files-duplicate')), '1_second.sql');
      expect(error.message).to.equal('1_second.sql: duplicate migration version 1: 00001_first.sql and 1_second.sql');
    });

    it('rejects a .sql file whose name does not parse, naming it', async () => {
      const error = await rejection(listMigrationFiles(fixtureDir('files-bad-name')), 'create_table.sql');
      expect(error.message).to.contain('the version "create" is not an integer');
    });

    it('rejects a missing directory and a file given as the directory', async () => {
      const missing = await rejection(listMigrationFiles(join(temp, 'nope')), undefined);
      expect(missing.message).to.equal(`the migrations directory ${join(temp, 'nope')} does not exist`);
      await write('00001_a.sql');
      const notDir = await rejection(listMigrationFiles(join(temp, '00001_a.sql')), undefined);
      expect(notDir.message).to.contain('is not a directory');
    });

    it('follows a symbolic link to a file, ignores one to a directory, rejects a broken one', async () => {
      await mkdir(join(temp, 'elsewhere'));
      await writeFile(join(temp, 'elsewhere', 'real.sql'), UP_DOWN);
      await symlink(join(temp, 'elsewhere', 'real.sql'), join(temp, '00001_linked.sql'));
      await symlink(join(temp, 'elsewhere'), join(temp, '00002_directory_link.sql'));
      expect((await listMigrationFiles(temp)).map((f) => f.fileName)).to.deep.equal(['00001_linked.sql']);
      await symlink(join(temp, 'missing.sql'), join(temp, '00003_broken.sql'));
      const error = await rejection(listMigrationFiles(temp), '00003_broken.sql');
      expect(error.message).to.contain('cannot read the migration file');
    });
  });

  describe('loadMigrations', () => {
    it('reads and parses every migration, in version order', async () => {
      const migrations = await loadMigrations(fixtureDir('files-mixed'));
      expect(migrations.map((m) => m.version)).to.deep.equal([1, 2, 10, 20240101120000]);
      const [first, second, third] = migrations;
      expect(first).to.deep.include({ fileName: '00001_create_alert.sql', hasDown: true, useTransaction: true });
      expect(first?.up).to.deep.equal([{ sql: 'CREATE TABLE alert (id bigint PRIMARY KEY);', line: 2 }]);
      expect(first?.down).to.deep.equal([{ sql: 'DROP TABLE alert;', line: 5 }]);
      expect(first?.path).to.equal(join(fixtureDir('files-mixed'), '00001_create_alert.sql'));
      expect(second).to.deep.include({ hasDown: false, down: [] });
      expect(third?.useTransaction).to.equal(false);
    });

    it('substitutes with the given environment', async () => {
      const [migration] = await loadMigrations(fixtureDir('files-envsub'), { env: { READER: 'reporting' } });
      expect(migration?.up.map((s) => s.sql)).to.deep.equal(['CREATE ROLE reporting;']);
      expect(migration?.down.map((s) => s.sql)).to.deep.equal(['DROP ROLE reporting;']);
    });

    it('reports a missing ENVSUB variable with the file and line', async () => {
      const error = await rejection(loadMigrations(fixtureDir('files-envsub'), { env: {} }), '00001_create_role.sql');
      expect(error.message).to.equal('00001_create_role.sql:3: ENVSUB: $READER: set READER');
    });

    it('uses process.env when no environment is given', async () => {
      const name = 'ALERT_HISTORY_DB_MIGRATION_FILES_TEST';
      await write('00001_env.sql', `-- +goose Up\n-- +goose ENVSUB ON\nSELECT '\${${name}}';\n`);
      process.env[name] = 'from process.env';
      try {
        const [migration] = await loadMigrations(temp);
        expect(migration?.up[0]?.sql).to.equal("SELECT 'from process.env';");
      } finally {
        delete process.env[name];
      }
    });

    it('names the file and line of a parse error', async () => {
      const error = await rejection(loadMigrations(fixtureDir('files-parse-error')), '00002_unterminated.sql');
      expect(error.line).to.equal(3);
      expect(error.message).to.match(/^00002_unterminated\.sql:3: the statement starting at this line is not terminated/);
    });

    it('rejects what listMigrationFiles rejects', async () => {
      await rejection(loadMigrations(fixtureDir('files-duplicate')), '1_second.sql');
    });

    it('returns an empty list for an empty directory', async () => {
      expect(await loadMigrations(temp)).to.deep.equal([]);
    });
  });

  describe('createMigrationFile', () => {
    const now = new Date(Date.UTC(2024, 1, 29, 7, 5, 9));

    it('names the file after the UTC time and the snake-cased name, with an Up and a Down section', async () => {
      const path = await createMigrationFile(temp, 'Add alert notes', { now });
      expect(path).to.equal(join(temp, '20240229070509_add_alert_notes.sql'));
      const parsed = parseMigration(await readFile(path, 'utf8'), { file: '20240229070509_add_alert_notes.sql', env: {} });
      expect(parsed.up).to.have.length(1);
      expect(parsed.down).to.have.length(1);
      expect(parsed.hasDown).to.equal(true);
      expect(parsed.useTransaction).to.equal(true);
    });

    it('uses UTC whatever the offset the time was written with', async () => {
      const path = await createMigrationFile(temp, 'x', { now: new Date('2024-03-01T01:02:03+05:00') });
      expect(path).to.equal(join(temp, '20240229200203_x.sql'));
    });

    it('uses the current time by default', async () => {
      const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
      const before = stamp(new Date());
      const path = await createMigrationFile(temp, 'now');
      const after = stamp(new Date());
      const version = path.slice(temp.length + 1, temp.length + 15);
      expect(version >= before && version <= after, `${before} <= ${version} <= ${after}`).to.equal(true);
    });

    it('snake-cases the name as goose does', async () => {
      const cases: [string, string][] = [
        ['Add users', 'add_users'],
        ['Add users!', 'add_users_'],
        ['add users!!', 'add_users'],
        ['AddUsers', 'addusers'],
        ['  --create--alert-table', 'create_alert_table'],
        ['v2.fix_index', 'v2_fix_index'],
        ['Ünïcode Naïve', 'ünïcode_naïve'],
      ];
      let second = 0;
      for (const [name, snake] of cases) {
        const path = await createMigrationFile(temp, name, { now: new Date(Date.UTC(2024, 0, 1, 0, 0, second++)) });
        expect(path.slice(temp.length + 16), name).to.equal(`${snake}.sql`);
      }
    });

    it('numbers sequentially after the highest sequential version, from 00001, ignoring timestamps', async () => {
      expect(await createMigrationFile(temp, 'first', { sequential: true })).to.equal(join(temp, '00001_first.sql'));
      await write('7_seventh.sql');
      await write('20240101120000_timestamped.sql');
      await write('README.md', 'not a migration');
      expect(await createMigrationFile(temp, 'next', { sequential: true })).to.equal(join(temp, '00008_next.sql'));
      await write('99999_last_five_digits.sql');
      expect(await createMigrationFile(temp, 'more', { sequential: true })).to.equal(join(temp, '100000_more.sql'));
    });

    it('refuses a version that another file already has', async () => {
      await write('20240229070509_other.sql');
      const error = await rejection(createMigrationFile(temp, 'mine', { now }), '20240229070509_mine.sql');
      expect(error.message).to.contain('version 20240229070509 is already used by 20240229070509_other.sql');
      expect(await names()).to.deep.equal(['20240229070509_other.sql']);
    });

    it('never overwrites: refuses a name that exists', async () => {
      await mkdir(join(temp, '20240229070509_taken.sql'));
      const error = await rejection(createMigrationFile(temp, 'taken', { now }), '20240229070509_taken.sql');
      expect(error.message).to.contain('the file already exists');
    });

    it('refuses a name without a letter or digit, an invalid date, a missing directory, an invalid directory', async () => {
      const empty = await rejection(createMigrationFile(temp, ' !?- ', { now }), undefined);
      expect(empty.message).to.contain('has no letter or digit');
      await rejection(createMigrationFile(temp, 'x', { now: new Date(Number.NaN) }), undefined);
      await rejection(createMigrationFile(join(temp, 'nope'), 'x', { now }), undefined);
      await rejection(createMigrationFile(fixtureDir('files-bad-name'), 'x', { sequential: true }), 'create_table.sql');
      expect(await names()).to.deep.equal([]);
    });
  });

  describe('fixMigrationFiles', () => {
    it('renames timestamp versions to the following sequential versions, oldest first, keeping the rest of the name', async () => {
      await write('00001_create_alert.sql', 'first');
      await write('2_add_note.sql');
      await write('20240102000000_second_ts.sql', 'second ts');
      await write('20240101000000_first_ts_with_more_parts.sql', 'first ts');
      await write('README.md', 'readme');
      await write('20240103000000_go_migration.go', 'package migrations');
      const renames = await fixMigrationFiles(temp);
      expect(renames).to.deep.equal([
        { from: '20240101000000_first_ts_with_more_parts.sql', to: '00003_first_ts_with_more_parts.sql' },
        { from: '20240102000000_second_ts.sql', to: '00004_second_ts.sql' },
      ]);
      expect(await names()).to.deep.equal([
        '00001_create_alert.sql',
        '00003_first_ts_with_more_parts.sql',
        '00004_second_ts.sql',
        '20240103000000_go_migration.go',
        '2_add_note.sql',
        'README.md',
      ]);
      expect(await readFile(join(temp, '00003_first_ts_with_more_parts.sql'), 'utf8')).to.equal('first ts');
      expect(await readFile(join(temp, '00004_second_ts.sql'), 'utf8')).to.equal('second ts');
    });

    it('starts from 00001 when there is no sequential version', async () => {
      await write('20240101000000_a.sql');
      expect(await fixMigrationFiles(temp)).to.deep.equal([{ from: '20240101000000_a.sql', to: '00001_a.sql' }]);
    });

    it('renames nothing when there is nothing to fix, or no file at all', async () => {
      expect(await fixMigrationFiles(temp)).to.deep.equal([]);
      await write('00001_a.sql');
      await write('00002_b.sql');
      expect(await fixMigrationFiles(temp)).to.deep.equal([]);
      expect(await names()).to.deep.equal(['00001_a.sql', '00002_b.sql']);
    });

    it('counts as timestamps only valid 14-digit date-times after 1970 (leap days included)', async () => {
      await write('00001_a.sql');
      await write('20240229235959_leap_day.sql');
      await write('19700101000001_just_after_epoch.sql');
      expect((await fixMigrationFiles(temp)).map((r) => r.to)).to.deep.equal(['00002_just_after_epoch.sql', '00003_leap_day.sql']);
    });

    it('counts other versions as sequential, as goose does: invalid dates, other lengths, dates before 1970', async () => {
      for (const version of ['20241301000000', '20240230000000', '20230229000000', '20240101240000', '20240101006000', '20240101000060', '202401011200001', '19691231235959']) {
        await rm(temp, { recursive: true, force: true });
        await mkdir(temp);
        await write(`${version}_odd.sql`);
        await write('20240101000000_ts.sql');
        const renames = await fixMigrationFiles(temp);
        expect(renames, version).to.deep.equal([{ from: '20240101000000_ts.sql', to: `${Number(version) + 1}_ts.sql` }]);
      }
    });

    it('leaves 19700101000000 alone and does not count it, as goose does', async () => {
      await write('00001_a.sql');
      await write('19700101000000_epoch.sql');
      await write('20240101000000_ts.sql');
      expect(await fixMigrationFiles(temp)).to.deep.equal([{ from: '20240101000000_ts.sql', to: '00002_ts.sql' }]);
      expect(await names()).to.deep.equal(['00001_a.sql', '00002_ts.sql', '19700101000000_epoch.sql']);
    });

    it('never overwrites: when a new name is taken, nothing is renamed', async () => {
      await write('00001_a.sql');
      await write('20240101000000_b.sql');
      await write('20240102000000_c.sql');
      await mkdir(join(temp, '00003_c.sql'));
      const error = await rejection(fixMigrationFiles(temp), '20240102000000_c.sql');
      expect(error.message).to.contain('00003_c.sql already exists (nothing was renamed)');
      expect(await names()).to.deep.equal(['00001_a.sql', '00003_c.sql', '20240101000000_b.sql', '20240102000000_c.sql']);
    });

    it('rejects what listMigrationFiles rejects', async () => {
      await rejection(fixMigrationFiles(fixtureDir('files-duplicate')), '1_second.sql');
      await rejection(fixMigrationFiles(join(temp, 'nope')), undefined);
    });
  });
});
