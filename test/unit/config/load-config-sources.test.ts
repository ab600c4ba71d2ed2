import { expect } from 'chai';
import { loadConfig, type ConfigWarning, type PostgresConfig, type PostgresConfigInput } from '../../../src/config/index.js';
import { createTempDir } from './temp-files.js';
import { withProcessEnv } from '../../support/process-env.js';

type Env = Record<string, string>;

/** `loadConfig` with its warnings collected instead of emitted. */
function loadWithWarnings(env: Env, explicit: PostgresConfigInput = {}): { config: PostgresConfig; warnings: ConfigWarning[] } {
  const warnings: ConfigWarning[] = [];
  const config = loadConfig(env, explicit, { onWarning: (warning) => warnings.push(warning) });
  return { config, warnings };
}

describe('loadConfig: sources and their priority', () => {
  describe('defaults', () => {
    it('gives every documented default when no source says anything', () => {
      const config = loadConfig({});
      expect({ ...config }).to.deep.equal({
        host: 'localhost',
        port: 5432,
        database: 'postgres',
        user: 'postgres',
        sslMode: 'prefer',
        sslRootCert: undefined,
        sslCert: undefined,
        sslKey: undefined,
        maxConns: 10,
        minConns: 0,
        maxConnLifetimeMs: 1_800_000,
        maxConnLifetimeJitterMs: 180_000,
        maxConnIdleTimeMs: 600_000,
        healthCheckPeriodMs: 30_000,
        acquireTimeoutMs: 10_000,
        connectTimeoutMs: 10_000,
        statementTimeoutMs: 0,
        idleInTransactionSessionTimeoutMs: 60_000,
        applicationName: 'alert-history-db',
        leakDetectionThresholdMs: 60_000,
      });
      expect(config.password).to.equal(undefined);
    });

    it('defaults the database to the user name, as libpq does', () => {
      expect(loadConfig({ PGUSER: 'alerts' }).database).to.equal('alerts');
      expect(loadConfig({}, { user: 'svc' }).database).to.equal('svc');
    });

    it('defaults the lifetime jitter to 10% of the lifetime given', () => {
      expect(loadConfig({ DB_MAX_CONN_LIFETIME: '10m' }).maxConnLifetimeJitterMs).to.equal(60_000);
      expect(loadConfig({ DB_MAX_CONN_LIFETIME: '0' }).maxConnLifetimeJitterMs).to.equal(0);
    });

    it('reads process.env by default, and nothing from it when an environment is passed', async () => {
      await withProcessEnv({ PGHOST: 'from-process-env', DATABASE_URL: undefined }, () => {
        expect(loadConfig({}).host).to.equal('localhost');
        expect(loadConfig().host).to.equal('from-process-env');
      });
    });
  });

  describe('libpq PG* variables', () => {
    it('reads PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE PGAPPNAME PGCONNECT_TIMEOUT', () => {
      const config = loadConfig({
        PGHOST: 'db.internal',
        PGPORT: '6432',
        PGDATABASE: 'alerts',
        PGUSER: 'svc',
        PGPASSWORD: 'pw',
        PGSSLMODE: 'disable',
        PGAPPNAME: 'worker',
        PGCONNECT_TIMEOUT: '7',
      });
      expect({ ...config, password: config.password }).to.include({
        host: 'db.internal',
        port: 6432,
        database: 'alerts',
        user: 'svc',
        password: 'pw',
        sslMode: 'disable',
        applicationName: 'worker',
        connectTimeoutMs: 7000,
      });
    });

    it('reads PGSSLROOTCERT PGSSLCERT PGSSLKEY as paths (checked only when TLS may be used)', () => {
      const config = loadConfig({ PGSSLMODE: 'disable', PGSSLROOTCERT: '/certs/ca.pem', PGSSLCERT: '/certs/c.pem', PGSSLKEY: '/certs/c.key' });
      expect(config).to.include({ sslRootCert: '/certs/ca.pem', sslCert: '/certs/c.pem', sslKey: '/certs/c.key' });
    });

    it('warns that PGOPTIONS is ignored', () => {
      const warnings: ConfigWarning[] = [];
      loadConfig({ PGOPTIONS: '-c statement_timeout=5s' }, {}, { onWarning: (warning) => warnings.push(warning) });
      expect(warnings).to.have.length(1);
      expect(warnings[0]?.field).to.equal('PGOPTIONS');
      expect(warnings[0]?.message).to.contain('ignored');
    });
  });

  describe('legacy and own DB_* variables', () => {
    it("reads the legacy service's DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_SSL_MODE DB_MAX_CONNS DB_MIN_CONNS", () => {
      const config = loadConfig({
        DB_HOST: 'legacy-db',
        DB_PORT: '5433',
        DB_NAME: 'history',
        DB_USER: 'legacy',
        DB_PASSWORD: 'old',
        DB_SSL_MODE: 'require',
        DB_MAX_CONNS: '25',
        DB_MIN_CONNS: '5',
      });
      expect({ ...config, password: config.password }).to.include({
        host: 'legacy-db',
        port: 5433,
        database: 'history',
        user: 'legacy',
        password: 'old',
        sslMode: 'require',
        maxConns: 25,
        minConns: 5,
      });
    });

    it('reads the pool and session settings from DB_* durations', () => {
      const config = loadConfig({
        DB_MAX_CONN_LIFETIME: '1h',
        DB_MAX_CONN_LIFETIME_JITTER: '5m',
        DB_MAX_CONN_IDLE_TIME: '2m',
        DB_HEALTH_CHECK_PERIOD: '15s',
        DB_ACQUIRE_TIMEOUT: '3s',
        DB_CONNECT_TIMEOUT: '2500',
        DB_STATEMENT_TIMEOUT: '30s',
        DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT: '1m30s',
        DB_LEAK_DETECTION_THRESHOLD: '0',
        DB_APPLICATION_NAME: 'alert-history',
      });
      expect(config).to.include({
        maxConnLifetimeMs: 3_600_000,
        maxConnLifetimeJitterMs: 300_000,
        maxConnIdleTimeMs: 120_000,
        healthCheckPeriodMs: 15_000,
        acquireTimeoutMs: 3000,
        connectTimeoutMs: 2500,
        statementTimeoutMs: 30_000,
        idleInTransactionSessionTimeoutMs: 90_000,
        leakDetectionThresholdMs: 0,
        applicationName: 'alert-history',
      });
    });

    it('lets the PG* variable win over its DB_* counterpart', () => {
      const config = loadConfig({
        PGHOST: 'pg-host',
        DB_HOST: 'db-host',
        PGPORT: '1111',
        DB_PORT: '2222',
        PGDATABASE: 'pg-db',
        DB_NAME: 'db-db',
        PGUSER: 'pg-user',
        DB_USER: 'db-user',
        PGPASSWORD: 'pg-pw',
        DB_PASSWORD: 'db-pw',
        PGSSLMODE: 'allow',
        DB_SSL_MODE: 'disable',
        PGAPPNAME: 'pg-app',
        DB_APPLICATION_NAME: 'db-app',
        PGCONNECT_TIMEOUT: '3',
        DB_CONNECT_TIMEOUT: '9s',
      });
      expect({ ...config, password: config.password }).to.include({
        host: 'pg-host',
        port: 1111,
        database: 'pg-db',
        user: 'pg-user',
        password: 'pg-pw',
        sslMode: 'allow',
        applicationName: 'pg-app',
        connectTimeoutMs: 3000,
      });
    });

    it('treats empty variables as unset', () => {
      const config = loadConfig({ PGHOST: '', DB_HOST: 'fallback', PGPORT: '', DATABASE_URL: '', PGPASSWORD: '' });
      expect(config.host).to.equal('fallback');
      expect(config.port).to.equal(5432);
      expect(config.password).to.equal(undefined);
    });
  });

  describe('DATABASE_URL', () => {
    it('reads user, password, host, port and database, percent-decoded', () => {
      const config = loadConfig({ DATABASE_URL: 'postgresql://al%40ice:p%40ss%3Aword@db.example.com:6543/alert%20history' });
      expect(config).to.include({ host: 'db.example.com', port: 6543, user: 'al@ice', database: 'alert history' });
      expect(config.password).to.equal('p@ss:word');
    });

    it('wins over PG* and DB_* variables, field by field', () => {
      const config = loadConfig({
        DATABASE_URL: 'postgres://url-user@url-host/url-db',
        PGHOST: 'pg-host',
        PGPORT: '7777',
        PGUSER: 'pg-user',
        DB_NAME: 'db-db',
      });
      expect(config).to.include({ host: 'url-host', user: 'url-user', database: 'url-db', port: 7777 });
    });

    it('reads libpq query parameters: sslmode, sslrootcert, sslcert, sslkey, application_name, connect_timeout (seconds)', () => {
      const config = loadConfig({
        DATABASE_URL:
          'postgres://h/db?sslmode=disable&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/c.key&application_name=from-url&connect_timeout=4',
        PGSSLMODE: 'verify-full',
      });
      expect(config).to.include({
        sslMode: 'disable',
        sslRootCert: '/ca.pem',
        sslCert: '/c.pem',
        sslKey: '/c.key',
        applicationName: 'from-url',
        connectTimeoutMs: 4000,
      });
    });

    it('reads pgx-style pool parameters and session timeouts', () => {
      const config = loadConfig({
        DATABASE_URL:
          'postgres://h/db?pool_max_conns=20&pool_min_conns=2&pool_max_conn_lifetime=1h&pool_max_conn_lifetime_jitter=1m' +
          '&pool_max_conn_idle_time=5m&pool_health_check_period=10s&pool_acquire_timeout=2s&pool_leak_detection_threshold=90s' +
          '&statement_timeout=5000&idle_in_transaction_session_timeout=30s',
        DB_MAX_CONNS: '99',
      });
      expect(config).to.include({
        maxConns: 20,
        minConns: 2,
        maxConnLifetimeMs: 3_600_000,
        maxConnLifetimeJitterMs: 60_000,
        maxConnIdleTimeMs: 300_000,
        healthCheckPeriodMs: 10_000,
        acquireTimeoutMs: 2000,
        leakDetectionThresholdMs: 90_000,
        statementTimeoutMs: 5000,
        idleInTransactionSessionTimeoutMs: 30_000,
      });
    });

    it('lets query parameters override the parts of the URL (host as a Unix socket directory)', () => {
      const config = loadConfig({ DATABASE_URL: 'postgres://u@ignored:1/db?host=/var/run/postgresql&port=5434&dbname=other&user=q' });
      expect(config).to.include({ host: '/var/run/postgresql', port: 5434, database: 'other', user: 'q' });
    });

    it('reads a bracketed IPv6 host', () => {
      expect(loadConfig({ DATABASE_URL: 'postgres://[::1]:5433/db' })).to.include({ host: '::1', port: 5433 });
    });

    it('falls back to lower sources for parts the URL leaves out', () => {
      const config = loadConfig({ DATABASE_URL: 'postgres:///only-db', PGHOST: 'env-host', DB_USER: 'env-user' });
      expect(config).to.include({ host: 'env-host', user: 'env-user', database: 'only-db' });
    });

    it('only percent-decodes query parameters, as libpq: + is a plus sign, not a space', () => {
      expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db?password=a+b' }).password).to.equal('a+b');
      expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db?password=a%2Bb' }).password).to.equal('a+b');
      expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db?password=a%20b%3Dc&application_name=x+y' })).to.include({
        applicationName: 'x+y',
      });
      expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db?password=a%20b%3Dc' }).password).to.equal('a b=c');
      expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db?password=x%3Dy' }).password).to.equal('x=y');
      expect(loadConfig({}, { connectionString: 'postgres://u@h/db?password=p+q&sslmode=disable&' })).to.include({ sslMode: 'disable' });
      expect(loadConfig({}, { connectionString: 'postgres://u@h/db?password=p+q' }).password).to.equal('p+q');
    });

    it('keeps + in the password part of the URL', () => {
      expect(loadConfig({ DATABASE_URL: 'postgres://u:a+b@h/db' }).password).to.equal('a+b');
    });
  });

  describe('DATABASE_URL and explicit connection fields', () => {
    const otherServer = 'postgres://other_user:other_pw@other-host:6543/otherdb?sslmode=disable&pool_max_conns=3';

    it('ignores DATABASE_URL entirely when an explicit option names the host, and warns without the URL', () => {
      const { config, warnings } = loadWithWarnings({ DATABASE_URL: otherServer }, { host: 'db.internal', database: 'alerts' });
      expect({ ...config, password: config.password }).to.include({
        host: 'db.internal',
        database: 'alerts',
        user: 'postgres',
        port: 5432,
        password: undefined,
        sslMode: 'prefer',
        maxConns: 10,
      });
      expect(warnings).to.have.length(1);
      expect(warnings[0]?.field).to.equal('DATABASE_URL');
      expect(warnings[0]?.message).to.contain('ignored').and.to.contain('host, database');
      const text = JSON.stringify(warnings);
      for (const part of ['other_user', 'other_pw', 'other-host', '6543', 'otherdb']) expect(text).to.not.contain(part);
    });

    it('ignores DATABASE_URL for each connection identity field: connectionString, host, port, database, user, password', () => {
      const inputs: PostgresConfigInput[] = [
        { connectionString: 'postgres://option-host/option-db' },
        { host: 'h' },
        { port: 5433 },
        { database: 'd' },
        { user: 'u' },
        { password: 'p' },
        { password: '' },
      ];
      for (const explicit of inputs) {
        const { config, warnings } = loadWithWarnings({ DATABASE_URL: otherServer }, explicit);
        expect(config.host, JSON.stringify(explicit)).to.not.equal('other-host');
        expect(config.user, JSON.stringify(explicit)).to.not.equal('other_user');
        expect(config.password, JSON.stringify(explicit)).to.not.equal('other_pw');
        expect(config.sslMode, JSON.stringify(explicit)).to.equal('prefer');
        expect(warnings.map((warning) => warning.field)).to.deep.equal(['DATABASE_URL']);
      }
    });

    it('does not even check an ignored DATABASE_URL', () => {
      const { config } = loadWithWarnings({ DATABASE_URL: 'postgres://u:pw@h:notaport/db?sslmod=x' }, { host: 'db.internal' });
      expect(config.host).to.equal('db.internal');
    });

    it('still uses DATABASE_URL when the explicit options give only non-identity settings', () => {
      const { config, warnings } = loadWithWarnings({ DATABASE_URL: otherServer }, { maxConns: 20, applicationName: 'worker' });
      expect({ ...config, password: config.password }).to.include({
        host: 'other-host',
        port: 6543,
        database: 'otherdb',
        user: 'other_user',
        password: 'other_pw',
        sslMode: 'disable',
        maxConns: 20,
        applicationName: 'worker',
      });
      expect(warnings).to.deep.equal([]);
    });

    it('does not warn when DATABASE_URL is unset or empty', () => {
      expect(loadWithWarnings({}, { host: 'h' }).warnings).to.deep.equal([]);
      expect(loadWithWarnings({ DATABASE_URL: '' }, { host: 'h' }).warnings).to.deep.equal([]);
    });

    it('still merges the PG* and DB_* variables under explicit fields, PGPASSWORD included (as libpq does)', () => {
      const { config, warnings } = loadWithWarnings(
        { DATABASE_URL: otherServer, PGUSER: 'pg-user', PGPASSWORD: 'pg-pw', DB_PORT: '6000', PGSSLMODE: 'require' },
        { host: 'db.internal' },
      );
      expect({ ...config, password: config.password }).to.include({
        host: 'db.internal',
        user: 'pg-user',
        password: 'pg-pw',
        port: 6000,
        sslMode: 'require',
      });
      expect(warnings.map((warning) => warning.field)).to.deep.equal(['DATABASE_URL']);
    });
  });

  describe("a URL's password goes only to the URL's server", () => {
    const warningsOf = (warnings: ConfigWarning[]): string[] => warnings.map((warning) => `${warning.field}: ${warning.message}`);

    it('drops the connectionString password when an explicit host names another server, with a warning without the value', () => {
      const { config, warnings } = loadWithWarnings({}, { connectionString: 'postgres://u:pwC-secret@hostC/db', host: 'hostD' });
      expect({ ...config, password: config.password }).to.include({ host: 'hostD', user: 'u', database: 'db', password: undefined });
      expect(warnings.map((warning) => warning.field)).to.deep.equal(['connectionString:password']);
      expect(warnings[0]?.message).to.contain('is not used').and.to.contain('explicit host option');
      expect(JSON.stringify(warnings)).to.not.contain('pwC-secret');
    });

    it('drops it for a ?password= parameter too, and when an explicit port moves the connection', () => {
      const byParameter = loadWithWarnings({}, { connectionString: 'postgres://u@hostC/db?password=pwC-secret', host: 'hostD' });
      expect(byParameter.config.password).to.equal(undefined);
      const byPort = loadWithWarnings({}, { connectionString: 'postgres://u:pwC-secret@hostC:5433/db', port: 6000 });
      expect(byPort.config).to.include({ host: 'hostC', port: 6000 });
      expect(byPort.config.password).to.equal(undefined);
      expect(byPort.warnings[0]?.message).to.contain('explicit port option');
      const both = loadWithWarnings({}, { connectionString: 'postgres://u:pwC-secret@hostC:5433/db', host: 'hostD', port: '6000' });
      expect(both.config.password).to.equal(undefined);
      expect(both.warnings[0]?.message).to.contain('explicit host and port options');
      for (const { warnings } of [byParameter, byPort, both]) expect(JSON.stringify(warnings)).to.not.contain('pwC-secret');
    });

    it('lets PGPASSWORD, DB_PASSWORD_FILE or the password file supply the password instead', () => {
      const explicit = { connectionString: 'postgres://u:pwC@hostC/db', host: 'hostD' };
      expect(loadWithWarnings({ PGPASSWORD: 'from-env' }, explicit).config.password).to.equal('from-env');
      const temp = createTempDir();
      try {
        const secret = temp.write('secret', 'from-file\n');
        expect(loadWithWarnings({ DB_PASSWORD_FILE: secret }, explicit).config.password).to.equal('from-file');
        const pgpass = temp.write('pgpass', 'hostC:5432:db:u:for-hostC\nhostD:5432:db:u:for-hostD\n');
        expect(loadWithWarnings({ PGPASSFILE: pgpass }, explicit).config.password).to.equal('for-hostD');
      } finally {
        temp.remove();
      }
    });

    it('keeps it when the explicit host and port are the URL\'s own, or when the password is explicit', () => {
      const same = loadWithWarnings({}, { connectionString: 'postgres://u:pwC@hostC:5433/db', host: 'hostC', port: '5433' });
      expect(same.config.password).to.equal('pwC');
      expect(same.warnings).to.deep.equal([]);
      const defaultPort = loadWithWarnings({}, { connectionString: 'postgres://u:pwC@hostC/db', port: 5432 });
      expect(defaultPort.config.password).to.equal('pwC');
      expect(defaultPort.warnings).to.deep.equal([]);
      const explicitPassword = loadWithWarnings({}, { connectionString: 'postgres://u:pwC@hostC/db', host: 'hostD', password: 'pwD' });
      expect(explicitPassword.config.password).to.equal('pwD');
      expect(explicitPassword.warnings).to.deep.equal([]);
    });

    it('measures the move against what the URL designates, its missing parts completed by PG*/DB_* or the defaults', () => {
      // The URL names no host: it designates PGHOST's host, so an explicit host equal to it keeps the password…
      const samePgHost = loadWithWarnings({ PGHOST: 'hostB' }, { connectionString: 'postgres://u:pw@/db', host: 'hostB' });
      expect(samePgHost.config.password).to.equal('pw');
      // …and another one drops it (as does any explicit host but the default, without PGHOST).
      const otherHost = loadWithWarnings({ PGHOST: 'hostB' }, { connectionString: 'postgres://u:pw@/db', host: 'hostD' });
      expect(otherHost.config.password).to.equal(undefined);
      expect(warningsOf(otherHost.warnings)).to.have.length(1);
      expect(loadWithWarnings({}, { connectionString: 'postgres://u:pw@/db', host: 'hostD' }).config.password).to.equal(undefined);
      // PG* variables are below the URL: they fill in its gaps but never move it.
      const pgPort = loadWithWarnings({ PGHOST: 'hostE', PGPORT: '7000' }, { connectionString: 'postgres://u:pw@hostC/db' });
      expect(pgPort.config).to.include({ host: 'hostC', port: 7000 });
      expect(pgPort.config.password).to.equal('pw');
      expect(pgPort.warnings).to.deep.equal([]);
    });

    it('sends a host-less DATABASE_URL\'s password to the host PGHOST names, as libpq does (documented)', () => {
      const { config, warnings } = loadWithWarnings({ DATABASE_URL: 'postgres://u:pw@/db', PGHOST: 'hostB' });
      expect({ ...config, password: config.password }).to.include({ host: 'hostB', password: 'pw' });
      expect(warnings).to.deep.equal([]);
    });
  });

  describe('explicit options', () => {
    it('win over every other source', () => {
      const { config } = loadWithWarnings(
        { DATABASE_URL: 'postgres://url-user:url-pw@url-host:1111/url-db?sslmode=disable&pool_max_conns=3', PGPORT: '2222' },
        {
          host: 'explicit-host',
          port: 3333,
          database: 'explicit-db',
          user: 'explicit-user',
          password: 'explicit-pw',
          sslMode: 'allow',
          maxConns: '4',
          minConns: 1,
          maxConnLifetime: '2h',
          maxConnLifetimeJitter: 1000,
          maxConnIdleTime: '1m',
          healthCheckPeriod: 5000,
          acquireTimeout: '1s',
          connectTimeout: '3s',
          statementTimeout: 250,
          idleInTransactionSessionTimeout: '0',
          applicationName: '',
          leakDetectionThreshold: '2m',
        },
      );
      expect({ ...config, password: config.password }).to.include({
        host: 'explicit-host',
        port: 3333,
        database: 'explicit-db',
        user: 'explicit-user',
        password: 'explicit-pw',
        sslMode: 'allow',
        maxConns: 4,
        minConns: 1,
        maxConnLifetimeMs: 7_200_000,
        maxConnLifetimeJitterMs: 1000,
        maxConnIdleTimeMs: 60_000,
        healthCheckPeriodMs: 5000,
        acquireTimeoutMs: 1000,
        connectTimeoutMs: 3000,
        statementTimeoutMs: 250,
        idleInTransactionSessionTimeoutMs: 0,
        applicationName: '',
        leakDetectionThresholdMs: 120_000,
      });
    });

    it('connectionString replaces DATABASE_URL entirely (with a warning), and explicit fields still win over it', () => {
      const { config, warnings } = loadWithWarnings(
        { DATABASE_URL: 'postgres://env-url-host:1111/env-db', PGPORT: '2222' },
        { connectionString: 'postgres://option-host/option-db', database: 'explicit-db' },
      );
      expect(config).to.include({ host: 'option-host', port: 2222, database: 'explicit-db' });
      expect(warnings.map((warning) => warning.field)).to.deep.equal(['DATABASE_URL']);
      expect(warnings[0]?.message).to.contain('connectionString, database').and.to.not.contain('env-url-host');
    });

    it('an explicit empty password means "no password" and stops the search', () => {
      const config = loadConfig({ PGPASSWORD: 'from-env' }, { password: '' });
      expect(config.password).to.equal(undefined);
    });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).to.equal(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).to.throw(TypeError);
    expect(config.port).to.equal(5432);
  });
});
