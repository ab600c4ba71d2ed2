import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ConfigProblem, type PostgresConfigInput } from '../../../src/config/index.js';
import { AlertHistoryDbError } from '../../../src/errors/alert-history-db-error.js';
import { createTempDir, type TempDir } from './temp-files.js';

type Env = Record<string, string>;

function problemsOf(env: Env, explicit: PostgresConfigInput = {}): readonly ConfigProblem[] {
  try {
    loadConfig(env, explicit, { onWarning: () => undefined });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return expect.fail('expected a ConfigError');
}

/** The single problem of a configuration with exactly one mistake. */
function onlyProblem(env: Env, explicit: PostgresConfigInput = {}): ConfigProblem {
  const problems = problemsOf(env, explicit);
  expect(problems, JSON.stringify(problems)).to.have.length(1);
  return problems[0] as ConfigProblem;
}

describe('loadConfig: validation', () => {
  let temp: TempDir;
  before(() => {
    temp = createTempDir();
  });
  after(() => temp.remove());

  it('lists every problem at once, in one ConfigError, each under the name the user wrote', () => {
    let thrown: unknown;
    try {
      loadConfig(
        {
          PGPORT: 'http',
          DB_MAX_CONNS: '0',
          DB_MIN_CONNS: '-2',
          PGSSLMODE: 'verify_full',
          DB_MAX_CONN_IDLE_TIME: '-5s',
          DB_ACQUIRE_TIMEOUT: 'forever',
          PGCONNECT_TIMEOUT: '1.5',
        },
        { host: '', statementTimeout: '1.5' },
        { onWarning: () => undefined },
      );
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(ConfigError).and.to.be.instanceOf(AlertHistoryDbError);
    const error = thrown as ConfigError;
    expect(error.code).to.equal('INVALID_CONFIG');
    expect(error.kind).to.equal('configuration');
    expect(error.retryable).to.equal(false);
    expect(error.problems.map((problem) => problem.field)).to.deep.equal([
      'host',
      'PGPORT',
      'PGSSLMODE',
      'DB_MAX_CONNS',
      'DB_MIN_CONNS',
      'DB_MAX_CONN_IDLE_TIME',
      'DB_ACQUIRE_TIMEOUT',
      'PGCONNECT_TIMEOUT',
      'statementTimeout',
    ]);
    expect(error.message).to.match(/^invalid PostgreSQL configuration \(9 problems\):\n {2}- host: must not be empty\n {2}- PGPORT: /);
    for (const problem of error.problems) expect(error.message).to.contain(`  - ${problem.field}: ${problem.message}`);
  });

  describe('port', () => {
    it('must be an integer from 1 to 65535', () => {
      for (const bad of ['0', '65536', 'abc', '54.3', '-1']) {
        expect(onlyProblem({ PGPORT: bad })).to.deep.equal({ field: 'PGPORT', message: `must be an integer from 1 to 65535, got "${bad}"` });
      }
      expect(onlyProblem({}, { port: 1.5 })).to.deep.equal({ field: 'port', message: 'must be an integer from 1 to 65535, got "1.5"' });
      expect(onlyProblem({ DB_PORT: '70000' }).field).to.equal('DB_PORT');
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?port=0' }).field).to.equal('DATABASE_URL:port');
      expect(loadConfig({ PGPORT: '65535' }).port).to.equal(65535);
      expect(loadConfig({ PGPORT: '1' }).port).to.equal(1);
    });
  });

  describe('connection counts', () => {
    it('maxConns must be at least 1', () => {
      expect(onlyProblem({ DB_MAX_CONNS: '0' })).to.deep.equal({ field: 'DB_MAX_CONNS', message: 'must be at least 1, got 0' });
      expect(onlyProblem({}, { maxConns: -3 }).field).to.equal('maxConns');
    });

    it('minConns must not be negative', () => {
      expect(onlyProblem({ DB_MIN_CONNS: '-1' })).to.deep.equal({ field: 'DB_MIN_CONNS', message: 'must be at least 0, got -1' });
    });

    it('counts must be integers', () => {
      expect(onlyProblem({ DB_MAX_CONNS: '2.5' })).to.deep.equal({ field: 'DB_MAX_CONNS', message: 'must be an integer, got "2.5"' });
      expect(onlyProblem({}, { minConns: 'few' })).to.deep.equal({ field: 'minConns', message: 'must be an integer, got "few"' });
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?pool_max_conns=ten' }).field).to.equal('DATABASE_URL:pool_max_conns');
    });

    it('minConns must not exceed maxConns (reported on minConns)', () => {
      expect(onlyProblem({ DB_MAX_CONNS: '4', DB_MIN_CONNS: '5' })).to.deep.equal({
        field: 'DB_MIN_CONNS',
        message: 'must not exceed maxConns (5 > 4)',
      });
      expect(onlyProblem({}, { minConns: 11 }).field).to.equal('minConns');
      expect(onlyProblem({ DB_MAX_CONNS: 'many', DB_MIN_CONNS: '20' }).field, 'a broken maxConns is reported once').to.equal('DB_MAX_CONNS');
      expect(loadConfig({ DB_MAX_CONNS: '5', DB_MIN_CONNS: '5' }).minConns).to.equal(5);
    });
  });

  describe('durations', () => {
    it('rejects negative and unparseable durations under their source names', () => {
      expect(onlyProblem({ DB_MAX_CONN_LIFETIME: '-1m' })).to.deep.equal({ field: 'DB_MAX_CONN_LIFETIME', message: 'must not be negative' });
      expect(onlyProblem({ DB_STATEMENT_TIMEOUT: 'soon' }).message).to.match(/^"soon" is not a duration/);
      expect(onlyProblem({}, { leakDetectionThreshold: -1 }).field).to.equal('leakDetectionThreshold');
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?pool_max_conn_idle_time=1d' }).field).to.equal(
        'DATABASE_URL:pool_max_conn_idle_time',
      );
    });

    it('needs a positive acquire timeout and health check period (0 would mean "wait forever" or a busy loop)', () => {
      expect(onlyProblem({ DB_ACQUIRE_TIMEOUT: '0' })).to.deep.equal({
        field: 'DB_ACQUIRE_TIMEOUT',
        message: 'must be at least 1 ms (0 is not allowed here)',
      });
      expect(onlyProblem({ DB_HEALTH_CHECK_PERIOD: '0s' }).field).to.equal('DB_HEALTH_CHECK_PERIOD');
    });

    it('reads connect_timeout and PGCONNECT_TIMEOUT as whole seconds (libpq), 0 meaning no limit', () => {
      expect(onlyProblem({ PGCONNECT_TIMEOUT: '10s' }).message).to.contain('whole number of seconds');
      expect(onlyProblem({ PGCONNECT_TIMEOUT: '-1' }).field).to.equal('PGCONNECT_TIMEOUT');
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?connect_timeout=2.5' }).field).to.equal('DATABASE_URL:connect_timeout');
      expect(loadConfig({ PGCONNECT_TIMEOUT: '0' }).connectTimeoutMs).to.equal(0);
    });

    it('rejects a jitter longer than the lifetime', () => {
      expect(onlyProblem({ DB_MAX_CONN_LIFETIME: '1m', DB_MAX_CONN_LIFETIME_JITTER: '2m' })).to.deep.equal({
        field: 'DB_MAX_CONN_LIFETIME_JITTER',
        message: 'must not exceed the connection lifetime (120000 ms > 60000 ms)',
      });
      expect(loadConfig({ DB_MAX_CONN_LIFETIME: '1m', DB_MAX_CONN_LIFETIME_JITTER: '1m' }).maxConnLifetimeJitterMs).to.equal(60_000);
      expect(onlyProblem({ DB_MAX_CONN_LIFETIME: 'long', DB_MAX_CONN_LIFETIME_JITTER: '2h' }).field).to.equal('DB_MAX_CONN_LIFETIME');
      expect(onlyProblem({ DB_MAX_CONN_LIFETIME: '0', DB_MAX_CONN_LIFETIME_JITTER: '1s' }).message).to.equal(
        'must not exceed the connection lifetime (1000 ms > 0 ms)',
      );
    });
  });

  describe('host, user, database', () => {
    it('rejects an empty or blank host', () => {
      expect(onlyProblem({}, { host: '' })).to.deep.equal({ field: 'host', message: 'must not be empty' });
      expect(onlyProblem({ PGHOST: '   ' })).to.deep.equal({ field: 'PGHOST', message: 'must not be empty' });
    });

    it('rejects several hosts (libpq lists), which this library does not support', () => {
      expect(onlyProblem({ PGHOST: 'a,b' }).message).to.contain('only one host is supported');
    });

    it('rejects an explicit empty user or database', () => {
      expect(problemsOf({}, { user: '', database: '' }).map((problem) => problem.field)).to.deep.equal(['user', 'database']);
    });
  });

  describe('sslmode', () => {
    it('rejects an unknown sslmode and lists the valid ones', () => {
      expect(onlyProblem({ PGSSLMODE: 'no-verify' })).to.deep.equal({
        field: 'PGSSLMODE',
        message: 'unknown sslmode "no-verify"; valid values: disable, allow, prefer, require, verify-ca, verify-full',
      });
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?sslmode=true' }).field).to.equal('DATABASE_URL:sslmode');
      expect(onlyProblem({}, { sslMode: 'VERIFY-FULL' }).field).to.equal('sslMode');
    });
  });

  describe('TLS files', () => {
    it('reports a missing root certificate, certificate or key file', () => {
      const missing = join(temp.path, 'missing.pem');
      expect(problemsOf({ PGSSLMODE: 'require', PGSSLROOTCERT: missing, PGSSLCERT: missing, PGSSLKEY: missing })).to.deep.equal([
        { field: 'PGSSLROOTCERT', message: `file "${missing}" does not exist` },
        { field: 'PGSSLCERT', message: `file "${missing}" does not exist` },
        { field: 'PGSSLKEY', message: `file "${missing}" does not exist` },
      ]);
    });

    it('reports a directory given as a file', () => {
      expect(onlyProblem({ PGSSLROOTCERT: temp.path })).to.deep.equal({
        field: 'PGSSLROOTCERT',
        message: `file "${temp.path}" is not a plain file`,
      });
    });

    it('reports a path that cannot be read', () => {
      const notADirectory = join(temp.write('plain.txt', 'x'), 'ca.pem');
      expect(onlyProblem({}, { sslRootCert: notADirectory })).to.deep.equal({
        field: 'sslRootCert',
        message: `file "${notADirectory}" cannot be read (ENOTDIR)`,
      });
    });

    it('needs a key with a certificate, and a certificate with a key', () => {
      const cert = temp.write('client.crt', 'cert');
      const key = temp.write('client.key', 'key');
      expect(onlyProblem({ PGSSLCERT: cert })).to.deep.equal({
        field: 'PGSSLCERT',
        message: 'a client certificate needs its private key: set sslKey (sslkey, PGSSLKEY) too',
      });
      expect(onlyProblem({}, { sslKey: key })).to.deep.equal({
        field: 'sslKey',
        message: 'a client private key needs its certificate: set sslCert (sslcert, PGSSLCERT) too',
      });
      expect(loadConfig({ PGSSLCERT: cert, PGSSLKEY: key })).to.include({ sslCert: cert, sslKey: key });
    });

    it('does not check TLS files when sslmode is disable (libpq does not load them)', () => {
      const config = loadConfig({ PGSSLMODE: 'disable', PGSSLCERT: '/nowhere/c.pem' });
      expect(config).to.include({ sslMode: 'disable', sslCert: '/nowhere/c.pem' });
    });

    it('makes relative paths absolute', () => {
      const config = loadConfig({ PGSSLMODE: 'disable', PGSSLROOTCERT: 'certs/ca.pem' });
      expect(config.sslRootCert).to.equal(join(process.cwd(), 'certs/ca.pem'));
    });

    it('warns about a private key that group or others may read (libpq refuses it)', () => {
      const cert = temp.write('open.crt', 'cert');
      const key = temp.write('open.key', 'key', 0o644);
      const warnings: string[] = [];
      loadConfig({ PGSSLCERT: cert, PGSSLKEY: key }, {}, { onWarning: (warning) => warnings.push(`${warning.field}: ${warning.message}`) });
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/^PGSSLKEY: private key file ".*open\.key" has group or world access/);
    });
  });

  describe('root certificate for verify-ca and verify-full', () => {
    it('is a problem when neither a root certificate nor ~/.postgresql/root.crt exists', () => {
      const home = join(temp.path, 'empty-home');
      expect(onlyProblem({ PGSSLMODE: 'verify-full', HOME: home })).to.deep.equal({
        field: 'PGSSLMODE',
        message:
          'verify-full needs a root certificate to verify the server with: set sslRootCert (sslrootcert, PGSSLROOTCERT), ' +
          `or put it at "${join(home, '.postgresql', 'root.crt')}" (not found)`,
      });
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?sslmode=verify-ca' }).message).to.contain('(HOME is not set)');
    });

    it("uses libpq's ~/.postgresql/root.crt when it exists (and so does require, which then verifies the chain)", () => {
      const rootCrt = temp.write('home/.postgresql/root.crt', 'ca');
      const home = join(temp.path, 'home');
      expect(loadConfig({ PGSSLMODE: 'verify-ca', HOME: home }).sslRootCert).to.equal(rootCrt);
      expect(loadConfig({ PGSSLMODE: 'require', HOME: home }).sslRootCert).to.equal(rootCrt);
      expect(loadConfig({ PGSSLMODE: 'prefer', HOME: home }).sslRootCert).to.equal(undefined);
    });

    it('accepts sslrootcert=system (platform CA roots), which makes verify-full the default mode', () => {
      expect(loadConfig({ PGSSLROOTCERT: 'system' })).to.include({ sslMode: 'verify-full', sslRootCert: 'system' });
      expect(onlyProblem({ PGSSLROOTCERT: 'system', PGSSLMODE: 'require' })).to.deep.equal({
        field: 'PGSSLROOTCERT',
        message: '"system" (the platform\'s CA roots) needs sslmode verify-full, as in libpq; sslmode is "require"',
      });
    });
  });

  describe('connection URL', () => {
    it('rejects an unparseable URL without showing it', () => {
      const url = 'postgres://user:s3cr3t@host:notaport/db';
      const problem = onlyProblem({ DATABASE_URL: url });
      expect(problem.field).to.equal('DATABASE_URL');
      expect(problem.message).to.contain('is not a valid connection URL').and.to.contain('not shown');
      expect(problem.message).to.not.contain('s3cr3t').and.to.not.contain('host:notaport');
    });

    it('rejects other schemes and libpq key=value strings', () => {
      for (const text of ['mysql://u:pw@h/db', 'host=h password=pw', 'h:5432/db']) {
        const problem = onlyProblem({}, { connectionString: text });
        expect(problem.field).to.equal('connectionString');
        expect(problem.message).to.contain('must start with postgres:// or postgresql://').and.to.not.contain('pw');
      }
    });

    it('rejects unknown and repeated query parameters, naming them', () => {
      expect(problemsOf({ DATABASE_URL: 'postgres://h/db?ssl=true&sslmode=require&sslmode=disable' })).to.deep.equal([
        { field: 'DATABASE_URL:ssl', message: `unknown parameter; supported: ${supportedParameters()}` },
        { field: 'DATABASE_URL:sslmode', message: 'is given more than once' },
      ]);
    });

    it('rejects malformed percent-escapes, %00 and parameters without a value, without showing the value', () => {
      expect(problemsOf({ DATABASE_URL: 'postgres://h/db?password=ab%zzcd&application_name=%&sslmode=dis%00able' })).to.deep.equal([
        'password',
        'application_name',
        'sslmode',
      ].map((name) => ({
        field: `DATABASE_URL:${name}`,
        message:
          'is not validly percent-encoded (write %XX with two hex digits, %25 for "%"; %00 is not allowed); ' +
          'the value is not shown because it may contain a password',
      })));
      expect(problemsOf({}, { connectionString: 'postgres://h/db?password=%C3%28' })).to.deep.equal([
        {
          field: 'connectionString:password',
          message:
            'is not validly percent-encoded (write %XX with two hex digits, %25 for "%"; %00 is not allowed); ' +
            'the value is not shown because it may contain a password',
        },
      ]);
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?sslmode' })).to.deep.equal({
        field: 'DATABASE_URL:sslmode',
        message: 'has no value: write name=value',
      });
      const tail = onlyProblem({ DATABASE_URL: 'postgres://h/db?password=first-half&second-half' });
      expect(tail.field).to.equal('DATABASE_URL');
      expect(tail.message).to.contain('has no "="').and.to.not.contain('second-half');
      const badName = onlyProblem({ DATABASE_URL: 'postgres://h/db?pass%zz=secret-value' });
      expect(badName.field).to.equal('DATABASE_URL');
      expect(badName.message).to.contain('name is not validly percent-encoded').and.to.not.contain('secret-value');
    });

    it('names an unknown parameter only when it is a libpq keyword, never a fragment that may be part of a password', () => {
      const fragment = onlyProblem({ DATABASE_URL: 'postgres://h/db?password=ab&topsecret=xyz' });
      expect(fragment).to.deep.equal({
        field: 'DATABASE_URL',
        message:
          'has an unknown parameter (name not shown: it may be part of a value; write & in values as %26); ' +
          `supported: ${supportedParameters()}`,
      });
      for (const text of [JSON.stringify(problemsOf({ DATABASE_URL: 'postgres://h/db?password=ab&topsecret=xyz' }))]) {
        expect(text).to.not.contain('topsecret').and.to.not.contain('xyz');
      }
      const fragmentBadValue = onlyProblem({}, { connectionString: 'postgres://h/db?password=ab&topsecret=x%zz' });
      expect(fragmentBadValue.field).to.equal('connectionString');
      expect(fragmentBadValue.message).to.contain('not validly percent-encoded').and.to.not.contain('topsecret');
      expect(problemsOf({ DATABASE_URL: 'postgres://h/db?target_session_attrs=any&options=-cx%3Dy&passwd=z' })).to.deep.equal([
        { field: 'DATABASE_URL:target_session_attrs', message: `unknown parameter; supported: ${supportedParameters()}` },
        { field: 'DATABASE_URL:options', message: `unknown parameter; supported: ${supportedParameters()}` },
        { field: 'DATABASE_URL', message: fragment.message },
      ]);
    });

    it('rejects a second raw "=" in a pair and an empty pair, as libpq does, without showing values', () => {
      expect(onlyProblem({ DATABASE_URL: 'postgres://h/db?password=x=y-secret' })).to.deep.equal({
        field: 'DATABASE_URL:password',
        message:
          'has more than one "=" (write %3D for "=" and %26 for "&" in a value); the value is not shown because it may contain a password',
      });
      const fragment = onlyProblem({ DATABASE_URL: 'postgres://h/db?password=ab&cd-secret=ef=gh' });
      expect(fragment.field).to.equal('DATABASE_URL');
      expect(fragment.message).to.contain('more than one "="').and.to.not.contain('cd-secret').and.to.not.contain('gh');
      for (const query of ['password=p&&sslmode=disable', '&sslmode=disable', 'sslmode=disable&&']) {
        const problem = onlyProblem({ DATABASE_URL: `postgres://h/db?${query}` });
        expect(problem, query).to.deep.equal({
          field: 'DATABASE_URL',
          message: 'has an empty query parameter ("&&", or "&" right after "?"); write %26 for "&" in a value',
        });
      }
      // One trailing "&" is accepted, as libpq accepts it; so is an empty query string.
      expect(loadConfig({ DATABASE_URL: 'postgres://h/db?sslmode=disable&' }).sslMode).to.equal('disable');
      expect(loadConfig({ DATABASE_URL: 'postgres://h/db?' }).host).to.equal('h');
    });

    it('still checks the other sources when the URL is broken', () => {
      expect(problemsOf({ DATABASE_URL: 'postgres://u:p@h:bad/db', PGPORT: 'x' }).map((problem) => problem.field)).to.deep.equal([
        'DATABASE_URL',
        'PGPORT',
      ]);
    });
  });
});

function supportedParameters(): string {
  return [
    'host',
    'port',
    'dbname',
    'user',
    'password',
    'sslmode',
    'sslrootcert',
    'sslcert',
    'sslkey',
    'pool_max_conns',
    'pool_min_conns',
    'pool_max_conn_lifetime',
    'pool_max_conn_lifetime_jitter',
    'pool_max_conn_idle_time',
    'pool_health_check_period',
    'pool_acquire_timeout',
    'connect_timeout',
    'statement_timeout',
    'idle_in_transaction_session_timeout',
    'application_name',
    'pool_leak_detection_threshold',
  ].join(', ');
}
