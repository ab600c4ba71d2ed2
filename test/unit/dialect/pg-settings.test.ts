import { expect } from 'chai';
import { loadConfig } from '../../../src/config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../../../src/config/postgres-config.js';
import { createDatabase } from '../../../src/database/create-database.js';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { checkConfigInput, resolveConfig, toConfigInput } from '../../../src/dialect/pg-settings.js';
import type { SettingsDialectOptions } from '../../../src/dialect/dialect-options.js';
import { ConfigError } from '../../../src/errors/config-error.js';

function problemsOf(options: Record<string, unknown>): string[] {
  try {
    toConfigInput(options as SettingsDialectOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.field}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('dialect: pg.PoolConfig names', () => {
  it('maps pg names onto PostgresConfigInput', () => {
    expect(
      toConfigInput({
        host: 'db',
        port: 6432,
        database: 'app',
        user: 'me',
        password: 'pw',
        max: 7,
        min: 1,
        idleTimeoutMillis: 1000,
        connectionTimeoutMillis: 2000,
        maxLifetimeSeconds: 60,
        statement_timeout: false,
        idle_in_transaction_session_timeout: 3000,
        application_name: 'app',
        ssl: { rejectUnauthorized: false },
        interceptors: [],
      }),
    ).to.deep.equal({
      host: 'db',
      port: 6432,
      database: 'app',
      user: 'me',
      password: 'pw',
      maxConns: 7,
      minConns: 1,
      maxConnIdleTime: 1000,
      connectTimeout: 2000,
      acquireTimeout: 2000,
      maxConnLifetime: 60000,
      statementTimeout: 0,
      idleInTransactionSessionTimeout: 3000,
      applicationName: 'app',
      sslMode: 'require',
    });
  });

  it('maps ssl like node-postgres: true verifies, false disables', () => {
    expect(toConfigInput({ ssl: true }).sslMode).to.equal('verify-full');
    expect(toConfigInput({ ssl: {} }).sslMode).to.equal('verify-full');
    expect(toConfigInput({ ssl: false }).sslMode).to.equal('disable');
    expect(toConfigInput({}).sslMode).to.equal(undefined);
  });

  it('keeps an explicit acquireTimeout over connectionTimeoutMillis', () => {
    expect(toConfigInput({ connectionTimeoutMillis: 2000, acquireTimeout: '30s' })).to.deep.equal({
      connectTimeout: 2000,
      acquireTimeout: '30s',
    });
  });

  it('rejects what it cannot honour, naming the fields but never the values', () => {
    const problems = problemsOf({
      max: 2,
      maxConns: 3,
      types: { getTypeParser: () => undefined },
      password: () => 'secret-from-function',
      ssl: { ca: 'PEM-CONTENT', rejectUnauthorized: true },
      maxLifetimeSeconds: -1,
      hots: 'typo',
    });
    expect(problems.map((p) => p.split(':')[0])).to.deep.equal(['types', 'hots', 'password', 'max', 'ssl', 'maxLifetimeSeconds']);
    expect(problems.join('\n')).to.not.include('PEM-CONTENT');
    expect(problems.join('\n')).to.not.include('secret-from-function');
  });

  it('ignores settings given as undefined', () => {
    expect(toConfigInput({ host: undefined, types: undefined } as unknown as SettingsDialectOptions)).to.deep.equal({});
  });
});

describe('dialect: a loaded configuration is recognised by its brand, not by its field names', () => {
  // nothing here connects: the pools are created on first use, or never
  const env = { PGHOST: 'db.invalid', PGUSER: 'app', PGDATABASE: 'alerts', PGPASSWORD: 'secret-password', PGSSLMODE: 'disable' };
  const loaded = (): PostgresConfig => loadConfig(env, {}, { onWarning: () => undefined });

  function configErrorOf(work: () => unknown): ConfigError {
    try {
      work();
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  function expectCopyRejected(error: ConfigError): void {
    const problem = error.problems[0];
    expect(problem?.field).to.include('acquireTimeoutMs');
    expect(problem?.message).to.include('loadConfig');
    expect(problem?.message).to.include('password');
    expect(error.message).to.not.include('secret-password');
  }

  it('uses a configuration from loadConfig as it is', () => {
    const config = loaded();
    expect(resolveConfig(config, {})).to.equal(config);
  });

  it('rejects a spread copy of a loaded configuration (its password is gone), telling to pass overrides to loadConfig', () => {
    const copy = { ...loaded(), maxConns: 20 };
    expect(copy.password).to.equal(undefined); // what the name-based check used to accept
    expectCopyRejected(configErrorOf(() => resolveConfig(copy as unknown as PostgresConfig, env)));
    expectCopyRejected(configErrorOf(() => createDialect(copy as unknown as PostgresConfig)));
    expectCopyRejected(configErrorOf(() => createDialect({ config: copy as unknown as PostgresConfig, env })));
    expectCopyRejected(configErrorOf(() => createDatabase(copy as unknown as PostgresConfig, { env })));
  });

  it('rejects a hand-made look-alike with the same field names', () => {
    const lookAlike = { host: 'db.invalid', maxConns: 3, sslMode: 'disable', acquireTimeoutMs: 1000 };
    expectCopyRejected(configErrorOf(() => resolveConfig(lookAlike as unknown as PostgresConfig, env)));
  });

  it('validates configuration input: every key must be a setting', () => {
    expect(checkConfigInput({ maxConns: 3, host: undefined })).to.deep.equal({ maxConns: 3, host: undefined });
    const error = configErrorOf(() => checkConfigInput({ maxConns: 3, max: 4, hots: 'typo' }));
    expect(error.problems.map((p) => p.field)).to.deep.equal(['max', 'hots']);
    expect(configErrorOf(() => checkConfigInput('postgres://x')).problems.map((p) => p.field)).to.deep.equal(['config']);
    const input: PostgresConfigInput = { maxConns: 20, acquireTimeout: '2s' };
    const overridden = resolveConfig(input, env);
    expect([overridden.maxConns, overridden.acquireTimeoutMs, overridden.password]).to.deep.equal([20, 2000, 'secret-password']);
  });
});
