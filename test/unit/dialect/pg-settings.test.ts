import { expect } from 'chai';
import { toConfigInput } from '../../../src/dialect/pg-settings.js';
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
