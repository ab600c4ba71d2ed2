import { expect } from 'chai';
import { inspect } from 'node:util';
import { ConfigError, loadConfig, type PostgresConfigInput } from '../../../src/config/index.js';
import { createTempDir } from './temp-files.js';

const SECRET = 'hunter2-S3cret!';

function configError(env: Record<string, string>, explicit: PostgresConfigInput = {}): ConfigError {
  try {
    loadConfig(env, explicit, { onWarning: () => undefined });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.fail('expected a ConfigError');
}

/** Every way the error may end up in a log. */
function renderings(error: ConfigError): string[] {
  return [String(error), error.message, error.stack ?? '', inspect(error), JSON.stringify(error.problems)];
}

describe('loadConfig: the password never shows', () => {
  const config = loadConfig({ DATABASE_URL: `postgres://app:${encodeURIComponent(SECRET)}@db.internal:6432/alerts?sslmode=require` });

  it('keeps the password readable', () => {
    expect(config.password).to.equal(SECRET);
  });

  it('is not an own or enumerable property', () => {
    expect(Object.keys(config)).to.not.include('password');
    expect(Object.getOwnPropertyNames(config)).to.not.include('password');
    expect(Object.prototype.propertyIsEnumerable.call(config, 'password')).to.equal(false);
  });

  it('is left out of String(config), a redacted connection URL', () => {
    expect(String(config)).to.equal('postgres://app@db.internal:6432/alerts?sslmode=require');
    expect(`${config}`).to.not.contain(SECRET);
  });

  it('is left out of JSON.stringify, which still has every other setting', () => {
    const json = JSON.stringify(config);
    expect(json).to.not.contain(SECRET).and.to.not.contain('password');
    expect(JSON.parse(json)).to.include({ host: 'db.internal', port: 6432, user: 'app', database: 'alerts', sslMode: 'require' });
  });

  it('is shown as [redacted] by util.inspect (console.log), with or without showHidden', () => {
    for (const text of [inspect(config), inspect(config, { showHidden: false }), inspect(config, { showHidden: true, depth: 5 })]) {
      expect(text).to.not.contain(SECRET);
      expect(text).to.match(/^PostgresConfig \{/).and.to.contain("password: '[redacted]'");
    }
    expect(inspect(loadConfig({}))).to.contain('password: undefined');
  });

  it('is left out of an object spread, which keeps the other settings', () => {
    const copy = { ...config };
    expect(copy).to.not.have.property('password');
    expect(copy).to.include({ host: 'db.internal', port: 6432, user: 'app' });
    expect(Object.keys(copy)).to.have.length(20);
  });

  it('toString encodes names and writes IPv6 and Unix socket hosts as libpq reads them', () => {
    expect(String(loadConfig({}, { host: '::1', user: 'a b', database: 'x/y' }))).to.equal('postgres://a%20b@[::1]:5432/x%2Fy?sslmode=prefer');
    expect(String(loadConfig({}, { host: '/run/pg', sslMode: 'disable' }))).to.equal(
      'postgres://postgres@:5432/postgres?host=%2Frun%2Fpg&sslmode=disable',
    );
  });

  describe('in ConfigError', () => {
    it('does not show a broken DATABASE_URL, or the password in it', () => {
      const error = configError({ DATABASE_URL: `postgres://app:${SECRET}@db:99999/alerts` });
      for (const text of renderings(error)) {
        expect(text).to.not.contain(SECRET).and.to.not.contain('db:99999');
      }
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['DATABASE_URL']);
    });

    it('does not show the value of an unknown URL parameter', () => {
      const error = configError({ DATABASE_URL: `postgres://app@db/alerts?passwd=${SECRET}` });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['DATABASE_URL']);
      for (const text of renderings(error)) expect(text).to.not.contain(SECRET);
    });

    it('does not show the tail of a password holding a raw "&" (as a parameter name or otherwise)', () => {
      for (const tail of ['topsecret=xyz', 'topsecret', 'topsecret=x=y', 'topsecret=x%zz', '&topsecret=xyz']) {
        const error = configError({ DATABASE_URL: `postgres://app@db/alerts?password=ab&${tail}` });
        for (const text of renderings(error)) expect(text, tail).to.not.contain('topsecret').and.to.not.contain('xyz');
        expect(new Set(error.problems.map((problem) => problem.field))).to.deep.equal(new Set(['DATABASE_URL']));
      }
    });

    it('does not show a connectionString password dropped because the explicit host moves the connection', () => {
      const warnings: string[] = [];
      const onWarning = (warning: { field: string; message: string }): number => warnings.push(warning.field, warning.message);
      const connectionString = `postgres://app:${encodeURIComponent(SECRET)}@db/alerts`;
      const config = loadConfig({}, { connectionString, host: 'other' }, { onWarning });
      expect(config.password).to.equal(undefined);
      expect(warnings[0]).to.equal('connectionString:password');
      expect(warnings.join(' ')).to.not.contain(SECRET).and.to.not.contain(encodeURIComponent(SECRET));
    });

    it('does not show the password even when it was pasted into another setting', () => {
      const error = configError({ PGPASSWORD: SECRET, PGPORT: SECRET, DB_STATEMENT_TIMEOUT: SECRET });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['PGPORT', 'DB_STATEMENT_TIMEOUT']);
      for (const text of renderings(error)) expect(text).to.not.contain(SECRET);
      expect(error.problems[0]?.message).to.equal('must be an integer from 1 to 65535, got "[redacted]"');
    });

    it('does not show a password from a valid URL when another setting is wrong', () => {
      const error = configError({ DATABASE_URL: `postgres://app:${SECRET}@db/alerts?sslmode=${SECRET}` }, { maxConns: 'x' });
      for (const text of renderings(error)) expect(text).to.not.contain(SECRET);
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['DATABASE_URL:sslmode', 'maxConns']);
    });

    it('does not show a malformed percent-escape in a query parameter, or the password around it', () => {
      const error = configError({ DATABASE_URL: `postgres://app@db/alerts?password=${SECRET}%zz` });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['DATABASE_URL:password']);
      expect(error.problems[0]?.message).to.contain('not validly percent-encoded').and.to.contain('not shown');
      for (const text of renderings(error)) expect(text).to.not.contain(SECRET).and.to.not.contain('%zz');
    });

    it('does not show a password from an ignored DATABASE_URL in the warning', () => {
      const warnings: string[] = [];
      const onWarning = (warning: { field: string; message: string }): number => warnings.push(warning.field, warning.message);
      loadConfig({ DATABASE_URL: `postgres://app:${SECRET}@db/alerts` }, { host: 'other' }, { onWarning });
      expect(warnings.join(' ')).to.contain('ignored').and.to.not.contain(SECRET).and.to.not.contain('postgres://');
    });

    it('does not show a password read from a *_FILE secret', () => {
      const temp = createTempDir();
      try {
        const error = configError({ PGPASSWORD_FILE: temp.write('secret', `${SECRET}\n`), DB_MAX_CONNS: SECRET });
        for (const text of renderings(error)) expect(text).to.not.contain(SECRET);
      } finally {
        temp.remove();
      }
    });
  });
});
