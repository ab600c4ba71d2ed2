import { expect } from 'chai';
import { MAX_DURATION_MS, parseDuration } from '../../../src/config/duration.js';

function ms(input: number | string): number {
  const result = parseDuration(input);
  if (!result.ok) expect.fail(`expected ${JSON.stringify(input)} to parse, got: ${result.problem}`);
  return result.ms;
}

function problem(input: number | string): string {
  const result = parseDuration(input);
  if (result.ok) expect.fail(`expected ${JSON.stringify(input)} to be rejected, got ${result.ms} ms`);
  return result.problem;
}

describe('parseDuration', () => {
  it('reads numbers and digit strings as milliseconds', () => {
    expect(ms(0)).to.equal(0);
    expect(ms(1500)).to.equal(1500);
    expect(ms('250')).to.equal(250);
    expect(ms(' 42 ')).to.equal(42);
  });

  it('reads a number with a unit: ms, s, m, h', () => {
    expect(ms('250ms')).to.equal(250);
    expect(ms('30s')).to.equal(30_000);
    expect(ms('5m')).to.equal(300_000);
    expect(ms('1h')).to.equal(3_600_000);
  });

  it("reads fractions and sequences as Go's time.ParseDuration does", () => {
    expect(ms('1.5s')).to.equal(1500);
    expect(ms('.5s')).to.equal(500);
    expect(ms('1.1s')).to.equal(1100);
    expect(ms('1m30s')).to.equal(90_000);
    expect(ms('1h2m3s4ms')).to.equal(3_723_004);
    expect(ms('0.5h')).to.equal(1_800_000);
  });

  it('accepts ns and us/µs when they add up to whole milliseconds', () => {
    expect(ms('2000000ns')).to.equal(2);
    expect(ms('3000us')).to.equal(3);
    expect(ms('3000µs')).to.equal(3);
    expect(problem('1500us')).to.equal('must be a whole number of milliseconds');
    expect(problem(1.5)).to.equal('must be a whole number of milliseconds');
  });

  it('rejects negative durations', () => {
    expect(problem(-1)).to.equal('must not be negative');
    expect(problem('-5s')).to.equal('must not be negative');
  });

  it('rejects garbage with the accepted forms in the message', () => {
    for (const input of ['abc', '', '5x', '1.5', 's', '1s 2s', '5 s', '10d', '1e3', '.s']) {
      expect(problem(input), input).to.contain('is not a duration').and.to.contain('250ms, 30s, 5m, 1h');
    }
    expect(problem('soon')).to.match(/^"soon" is not a duration/);
    expect(problem(Number.NaN)).to.contain('is not a duration');
    expect(problem(Number.POSITIVE_INFINITY)).to.contain('is not a duration');
  });

  it('rejects durations longer than a Node.js timer can wait (2^31 - 1 ms)', () => {
    expect(ms(MAX_DURATION_MS)).to.equal(2_147_483_647);
    expect(problem(MAX_DURATION_MS + 1)).to.contain('at most 2147483647 ms');
    expect(problem('600h')).to.contain('at most 2147483647 ms');
    expect(problem('99999999999999999999')).to.contain('at most 2147483647 ms');
  });
});
