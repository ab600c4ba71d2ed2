import { expect } from 'chai';
import { ConfigError } from '../../../src/errors/config-error.js';
import { MigrationFailedError } from '../../../src/errors/migration-error.js';
import { describeFailure } from '../../../src/migrate/migrate-command.js';
import { formatAnsic, formatApplied, formatDuration, formatStatus } from '../../../src/migrate/migrate-command-output.js';
import { parseKeywordValueString } from '../../../src/migrate/migrate-command-target.js';

/** The pure parts of the CLI: goose's notation, libpq settings, one-line failures. No database. */
describe('alert-history-db migrate: output and parsing helpers', () => {
  it('formats durations as goose does (Go notation, about three significant digits)', () => {
    expect(formatDuration(12.3456)).to.equal('12.35ms');
    expect(formatDuration(12)).to.equal('12ms');
    expect(formatDuration(0.8125)).to.equal('812.5µs');
    expect(formatDuration(1500)).to.equal('1.5s');
    expect(formatDuration(123_250)).to.equal('2m3.25s');
    expect(formatDuration(3_723_000)).to.equal('1h2m3s');
    expect(formatDuration(0)).to.equal('0s');
    expect(formatDuration(0.0004)).to.equal('400ns');
    // rounding never gives 1000 of a unit
    expect(formatDuration(999.999)).to.equal('1s');
    expect(formatDuration(0.999999)).to.equal('1ms');
    expect(formatDuration(59_999.999)).to.equal('1m0s');
  });

  it('prints OK and EMPTY lines', () => {
    const applied = { version: 2, fileName: '00002_x.sql', direction: 'up', durationMs: 12.3, empty: false } as const;
    expect(formatApplied(applied)).to.equal('OK   00002_x.sql (12.3ms)\n');
    expect(formatApplied({ ...applied, empty: true })).to.equal('EMPTY 00002_x.sql (12.3ms)\n');
  });

  it("prints times in Go's ANSIC layout, in UTC, and status rows for files that are gone", () => {
    expect(formatAnsic(new Date('2026-11-07T06:08:05.999Z'))).to.equal('Sat Nov  7 06:08:05 2026');
    const status = formatStatus([
      { version: 1, fileName: '00001_a.sql', appliedAt: new Date('2026-11-27T06:38:05Z'), state: 'applied' },
      { version: 5, fileName: undefined, appliedAt: new Date('2026-11-27T06:38:05Z'), state: 'applied' },
    ]);
    expect(status.split('\n').slice(2)).to.deep.equal([
      '    Fri Nov 27 06:38:05 2026 -- 00001_a.sql',
      '    Fri Nov 27 06:38:05 2026 -- version 5 (no migration file)',
      '',
    ]);
  });

  it('never prints an applied version as Pending, even when its time is unknown (a NULL tstamp of an old goose table)', () => {
    const status = formatStatus([{ version: 1, fileName: '00001_a.sql', appliedAt: undefined, state: 'applied' }]);
    const row = status.split('\n')[2] ?? '';
    expect(row).not.to.contain('Pending');
    expect(row).to.match(/^ {4}\S.{23} -- 00001_a\.sql$/);
  });

  it('reads libpq key=value settings, quoted values and escapes included', () => {
    expect(parseKeywordValueString("host=db port = 5432 dbname='my db' password='it\\'s \\\\ ok' sslmode=disable")).to.deep.equal([
      { key: 'host', value: 'db' },
      { key: 'port', value: '5432' },
      { key: 'dbname', value: 'my db' },
      { key: 'password', value: "it's \\ ok" },
      { key: 'sslmode', value: 'disable' },
    ]);
    expect(parseKeywordValueString('')).to.equal(undefined);
    expect(parseKeywordValueString('host')).to.equal(undefined);
    expect(parseKeywordValueString("password='unterminated")).to.equal(undefined);
    expect(parseKeywordValueString('postgres://u@h/d')).to.equal(undefined);
  });

  it('describes failures on one line', () => {
    expect(describeFailure(new ConfigError([{ field: 'PGPORT', message: 'bad' }, { field: 'PGHOST', message: 'worse' }]))).to.equal(
      'invalid PostgreSQL configuration: PGPORT: bad; PGHOST: worse',
    );
    const cause = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    expect(describeFailure(new MigrationFailedError({ version: 2, file: '00002_x.sql', direction: 'up', line: 4, cause }))).to.equal(
      'migration up failed: 00002_x.sql:4: relation "x" does not exist (SQLSTATE 42P01)',
    );
    const refused = (port: number) => Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
    expect(describeFailure(new AggregateError([refused(1), refused(2)]))).to.equal('connect ECONNREFUSED 127.0.0.1:1; connect ECONNREFUSED 127.0.0.1:2');
    expect(describeFailure(new Error('first\n  second'))).to.equal('first second');
  });
});
