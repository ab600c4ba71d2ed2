import { expect } from 'chai';
import { parseQueryDuration } from '../../../src/service/duration.js';
import { describeDatabase } from '../../../src/service/describe-database.js';
import { parseRfc3339 } from '../../../src/service/rfc3339.js';
import { databaseConfigured, DATABASE_TARGET_VARIABLES, readServiceConfig, ServiceConfigError } from '../../../src/service/service-config.js';

describe('service: configuration and parameter parsing (no database)', () => {
  it('reads HOST, PORT, BODY_LIMIT_BYTES, MIGRATE_ON_START and DATA_DIR with their defaults', () => {
    expect(readServiceConfig({}, '/srv/app')).to.deep.equal({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 1024 * 1024,
      migrateOnStart: true,
      dataDir: '/srv/app/.data',
    });
    expect(
      readServiceConfig({ HOST: '0.0.0.0', PORT: '0', BODY_LIMIT_BYTES: '2048', MIGRATE_ON_START: 'false', DATA_DIR: '/var/lib/alerts', LOG_LEVEL: 'debug' }, '/srv/app'),
    ).to.deep.equal({ host: '0.0.0.0', port: 0, bodyLimitBytes: 2048, migrateOnStart: false, dataDir: '/var/lib/alerts' });
    expect(readServiceConfig({ PORT: '', DATA_DIR: 'state', MIGRATE_ON_START: 'TRUE' }, '/srv/app')).to.include({ port: 8080, dataDir: '/srv/app/state', migrateOnStart: true });
  });

  it('lists every invalid variable in one ServiceConfigError', () => {
    let failure: unknown;
    try {
      readServiceConfig({ PORT: '70000', BODY_LIMIT_BYTES: '0', MIGRATE_ON_START: 'later' });
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(ServiceConfigError);
    expect((failure as ServiceConfigError).problems.map((problem) => problem.variable)).to.deep.equal(['PORT', 'BODY_LIMIT_BYTES', 'MIGRATE_ON_START']);
  });

  it('counts a database as configured when any variable naming a server or account is set, not pool or TLS tuning', () => {
    expect(databaseConfigured({})).to.equal(false);
    expect(databaseConfigured({ DB_MAX_CONNS: '5', PGSSLMODE: 'require', PGAPPNAME: 'x', PGPASSFILE: '/p', DATABASE_URL: '' })).to.equal(false);
    for (const name of DATABASE_TARGET_VARIABLES) expect(databaseConfigured({ [name]: 'x' }), name).to.equal(true);
  });

  it('parses durations (ms, s, m, h, d, w; combined) and refuses zero, other units and more than 400 days', () => {
    expect(parseQueryDuration('15m')).to.equal(900_000);
    expect(parseQueryDuration('24h')).to.equal(86_400_000);
    expect(parseQueryDuration('7d')).to.equal(604_800_000);
    expect(parseQueryDuration('1w')).to.equal(604_800_000);
    expect(parseQueryDuration('1h30m')).to.equal(5_400_000);
    expect(parseQueryDuration('400d')).to.equal(400 * 86_400_000);
    for (const text of ['0s', '', '1', '1.5h', '-1h', '1y', '401d', 'h', '1H', ' 1h']) expect(parseQueryDuration(text), text).to.equal(undefined);
  });

  it('parses RFC 3339 date-times exactly, and refuses other forms and impossible dates', () => {
    expect(parseRfc3339('2026-11-27T00:22:20.869610604Z')?.toISOString()).to.equal('2026-11-27T00:22:20.869Z');
    expect(parseRfc3339('2026-11-27T02:00:00+02:00')?.toISOString()).to.equal('2026-11-27T00:00:00.000Z');
    expect(parseRfc3339('2026-11-26T19:30:00-04:30')?.toISOString()).to.equal('2026-11-27T00:00:00.000Z');
    expect(parseRfc3339('2026-11-27T02:00:00 02:00')?.toISOString()).to.equal('2026-11-27T00:00:00.000Z');
    expect(parseRfc3339('2024-02-29t00:00:00z')?.toISOString()).to.equal('2024-02-29T00:00:00.000Z');
    expect(parseRfc3339('0050-01-01T00:00:00Z')?.getUTCFullYear()).to.equal(50);
    for (const text of ['2026-11-27', '2026-11-27T00:00Z', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-27T24:00:00Z', '2026-11-27T00:00:60Z', '2026-11-27T00:00:00+24:00', '1764201600']) {
      expect(parseRfc3339(text), text).to.equal(undefined);
    }
  });

  it('describes a database without its password', () => {
    expect(describeDatabase({ host: 'db.example', port: 5432, user: 'alerts', database: 'alert_history' })).to.equal('postgres://alerts@db.example:5432/alert_history');
    expect(describeDatabase({ host: '::1', port: 5433, user: 'a b', database: 'x' })).to.equal('postgres://a%20b@[::1]:5433/x');
    expect(describeDatabase({ host: '/var/run/postgresql', port: 5432, user: 'u', database: 'd' })).to.equal('postgres://u@/d?host=%2Fvar%2Frun%2Fpostgresql&port=5432');
  });
});
