import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ConfigWarning } from '../../../src/config/index.js';
import { findPgpassPassword } from '../../../src/config/pgpass.js';
import { createTempDir, type TempDir } from './temp-files.js';

type Env = Record<string, string>;

function passwordOf(env: Env, warnings: ConfigWarning[] = []): string | undefined {
  return loadConfig(env, {}, { onWarning: (warning) => warnings.push(warning) }).password;
}

function problemsOf(env: Env): readonly { field: string; message: string }[] {
  try {
    loadConfig(env, {}, { onWarning: () => undefined });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return expect.fail('expected a ConfigError');
}

describe('loadConfig: secrets', () => {
  let temp: TempDir;
  before(() => {
    temp = createTempDir();
  });
  after(() => temp.remove());

  describe('*_FILE variables', () => {
    it('reads PGPASSWORD_FILE, without the trailing line break', () => {
      expect(passwordOf({ PGPASSWORD_FILE: temp.write('pw1', 'from file\n') })).to.equal('from file');
      expect(passwordOf({ PGPASSWORD_FILE: temp.write('pw2', ' spaced \r\n') })).to.equal(' spaced ');
      expect(passwordOf({ PGPASSWORD_FILE: temp.write('pw3', 'no newline') })).to.equal('no newline');
    });

    it('reads DB_PASSWORD_FILE', () => {
      expect(passwordOf({ DB_PASSWORD_FILE: temp.write('db-pw', 'legacy secret\n') })).to.equal('legacy secret');
    });

    it('rejects a variable set together with its _FILE twin', () => {
      expect(problemsOf({ PGPASSWORD: 'a', PGPASSWORD_FILE: temp.write('pw4', 'b') })).to.deep.equal([
        { field: 'PGPASSWORD_FILE', message: 'PGPASSWORD and PGPASSWORD_FILE are both set; set only one of them' },
      ]);
      expect(problemsOf({ DB_PASSWORD: 'a', DB_PASSWORD_FILE: temp.write('pw5', 'b') })[0]?.field).to.equal('DB_PASSWORD_FILE');
    });

    it('reports a missing or empty secret file, without falling back to a lower source', () => {
      const missing = join(temp.path, 'no-such-secret');
      expect(problemsOf({ PGPASSWORD_FILE: missing, DB_PASSWORD: 'lower' })).to.deep.equal([
        { field: 'PGPASSWORD_FILE', message: `file "${missing}" does not exist` },
      ]);
      const empty = temp.write('empty-secret', '\n');
      expect(problemsOf({ DB_PASSWORD_FILE: empty })).to.deep.equal([{ field: 'DB_PASSWORD_FILE', message: `file "${empty}" is empty` }]);
    });

    it('follows the priority explicit > URL > PGPASSWORD(_FILE) > DB_PASSWORD(_FILE)', () => {
      const pgFile = temp.write('pg-secret', 'pg-file');
      const dbFile = temp.write('db-secret', 'db-file');
      const env = { DATABASE_URL: 'postgres://u:url-pw@h/db', PGPASSWORD_FILE: pgFile, DB_PASSWORD_FILE: dbFile };
      expect(loadConfig(env, { password: 'explicit-pw' }, { onWarning: () => undefined }).password).to.equal('explicit-pw');
      expect(loadConfig(env).password).to.equal('url-pw');
      expect(loadConfig({ ...env, DATABASE_URL: 'postgres://u@h/db' }).password).to.equal('pg-file');
      expect(loadConfig({ DB_PASSWORD_FILE: dbFile, DB_PASSWORD: '' }).password).to.equal('db-file');
      expect(loadConfig({ PGPASSWORD: 'pg-env', DB_PASSWORD_FILE: dbFile }).password).to.equal('pg-env');
      expect(loadConfig({ DB_PASSWORD: 'db-env' }, { connectionString: 'postgres://u@h/db?password=query-pw' }).password).to.equal('query-pw');
    });
  });

  describe('password file (~/.pgpass, PGPASSFILE)', () => {
    const target = { host: 'db.internal', port: 5432, database: 'alerts', user: 'svc' };

    it('uses the first line matching host, port, database and user', () => {
      const text = ['other:5432:alerts:svc:wrong-host', 'db.internal:5432:alerts:svc:right', 'db.internal:5432:alerts:svc:second'].join('\n');
      expect(findPgpassPassword(text, target)).to.equal('right');
    });

    it('matches * alone as a wildcard in any of the first four fields', () => {
      expect(findPgpassPassword('*:*:*:*:any', target)).to.equal('any');
      expect(findPgpassPassword('db.internal:*:alerts:*:some', target)).to.equal('some');
      expect(findPgpassPassword('db.*:5432:alerts:svc:prefix', target)).to.equal(undefined);
    });

    it('reads \\: and \\\\ as a literal colon and backslash, and ends the password at an unescaped colon', () => {
      expect(findPgpassPassword('db.internal:5432:alerts:svc:pa\\:ss\\\\word', target)).to.equal('pa:ss\\word');
      expect(findPgpassPassword('db.internal:5432:alerts:svc:first:ignored', target)).to.equal('first');
      expect(findPgpassPassword('db\\.internal:5432:al\\erts:svc:escaped-any-char', target)).to.equal('escaped-any-char');
      expect(findPgpassPassword('\\*:5432:alerts:svc:literal-star', target)).to.equal(undefined);
    });

    it('skips comments, blank lines, CRLF endings and lines with fewer than five fields', () => {
      const text = '# db.internal:5432:alerts:svc:commented\r\n\r\ndb.internal:5432:alerts\r\ndb.internal:5432:alerts:svc:crlf\r\n';
      expect(findPgpassPassword(text, target)).to.equal('crlf');
    });

    it('matches the default Unix socket directory (/var/run/postgresql, /tmp) as localhost, as libpq does', () => {
      for (const host of ['/var/run/postgresql', '/tmp']) {
        expect(findPgpassPassword('localhost:5432:alerts:svc:socket', { ...target, host }), host).to.equal('socket');
        expect(findPgpassPassword(`${host}:5432:alerts:svc:literal`, { ...target, host }), host).to.equal(undefined);
      }
    });

    it('matches any other Unix socket directory literally, never as localhost', () => {
      const text = 'localhost:5432:alerts:svc:for-localhost\n/run/pg:5432:alerts:svc:for-run-pg\n';
      expect(findPgpassPassword(text, { ...target, host: '/run/pg' })).to.equal('for-run-pg');
      expect(findPgpassPassword('localhost:5432:alerts:svc:for-localhost', { ...target, host: '/run/pg' })).to.equal(undefined);
      expect(findPgpassPassword('localhost:5432:alerts:svc:for-localhost', { ...target, host: '/var/run/postgresql/' })).to.equal(undefined);
      expect(findPgpassPassword('*:5432:alerts:svc:any-host', { ...target, host: '/run/pg' })).to.equal('any-host');
    });

    it('compares the port as a number in text', () => {
      expect(findPgpassPassword('db.internal:6432:alerts:svc:other-port', target)).to.equal(undefined);
    });

    it('looks a socket host up through loadConfig with the same rule', () => {
      const file = temp.write('pgpass-socket', 'localhost:5432:svc:svc:default-socket\n/srv/pg:5432:svc:svc:own-socket\n');
      expect(passwordOf({ PGPASSFILE: file, PGHOST: '/var/run/postgresql', PGUSER: 'svc' })).to.equal('default-socket');
      expect(passwordOf({ PGPASSFILE: file, PGHOST: '/srv/pg', PGUSER: 'svc' })).to.equal('own-socket');
      expect(passwordOf({ PGPASSFILE: file, PGHOST: '/srv/other', PGUSER: 'svc' })).to.equal(undefined);
    });

    it('is read from PGPASSFILE for the resolved connection, the database defaulting to the user', () => {
      const file = temp.write('pgpass-a', 'db.internal:6432:svc:svc:from-pgpass\n');
      expect(passwordOf({ PGPASSFILE: file, PGHOST: 'db.internal', PGPORT: '6432', PGUSER: 'svc' })).to.equal('from-pgpass');
    });

    it('is read from $HOME/.pgpass of the given environment', () => {
      temp.write('home-a/.pgpass', 'localhost:5432:postgres:postgres:home-secret\n');
      expect(passwordOf({ HOME: join(temp.path, 'home-a') })).to.equal('home-secret');
    });

    it('is not consulted when a higher source gives a password', () => {
      const file = temp.write('pgpass-b', '*:*:*:*:from-pgpass\n');
      expect(passwordOf({ PGPASSFILE: file, DB_PASSWORD: 'from-env' })).to.equal('from-env');
      expect(loadConfig({ PGPASSFILE: file }, { password: '' }).password).to.equal(undefined);
      expect(passwordOf({ PGPASSFILE: file })).to.equal('from-pgpass');
    });

    it('is ignored with a warning when group or others may read it, as libpq ignores it', () => {
      const file = temp.write('pgpass-open', '*:*:*:*:exposed\n', 0o644);
      const warnings: ConfigWarning[] = [];
      expect(passwordOf({ PGPASSFILE: file }, warnings)).to.equal(undefined);
      expect(warnings).to.deep.equal([
        {
          field: 'PGPASSFILE',
          message: `password file "${file}" has group or world access; permissions should be u=rw (0600) or less; it is ignored, as libpq ignores it`,
        },
      ]);
      expect(JSON.stringify(warnings)).to.not.contain('exposed');
    });

    it('is ignored with a warning when it is not a plain file', () => {
      const dir = join(temp.path, 'home-dir');
      mkdirSync(join(dir, '.pgpass'), { recursive: true });
      const warnings: ConfigWarning[] = [];
      expect(passwordOf({ HOME: dir }, warnings)).to.equal(undefined);
      expect(warnings.map((warning) => warning.field)).to.deep.equal(['~/.pgpass']);
      expect(warnings[0]?.message).to.contain('is not a plain file');
    });

    it('warns when PGPASSFILE names a missing file, but not when ~/.pgpass is simply absent', () => {
      const warnings: ConfigWarning[] = [];
      expect(passwordOf({ PGPASSFILE: join(temp.path, 'nope') }, warnings)).to.equal(undefined);
      expect(warnings.map((warning) => warning.field)).to.deep.equal(['PGPASSFILE']);
      const none: ConfigWarning[] = [];
      expect(passwordOf({ HOME: join(temp.path, 'no-home') }, none)).to.equal(undefined);
      expect(none).to.deep.equal([]);
    });
  });

  it('never echoes a *_FILE value without a path separator: it may be a password typed there by mistake', () => {
    for (const variable of ['PGPASSWORD_FILE', 'DB_PASSWORD_FILE']) {
      let failure: unknown;
      try {
        loadConfig({ [variable]: 'Sekr1t-Pw-XYZ' });
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(ConfigError);
      const problem = (failure as ConfigError).problems.find((p) => p.field === variable);
      expect(problem?.message).to.include('does not exist');
      expect(String(failure)).to.not.include('Sekr1t-Pw-XYZ');
    }
    let withPath: unknown;
    try {
      loadConfig({ PGPASSWORD_FILE: '/run/secrets/missing-db-password' });
    } catch (error) {
      withPath = error;
    }
    expect(String(withPath)).to.include('/run/secrets/missing-db-password');
  });
});
