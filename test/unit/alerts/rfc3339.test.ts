import { expect } from 'chai';
import { parseRfc3339 } from '../../../src/alerts/rfc3339.js';

describe('parseRfc3339', () => {
  it('parses to the nanosecond, with Z or an offset', () => {
    expect(parseRfc3339('2026-11-27T00:22:20.869610604Z')).to.deep.equal({
      epochNanos: 1_795_738_940_869_610_604n,
      epochMs: 1_795_738_940_869,
      isGoZeroTime: false,
    });
    expect(parseRfc3339('2026-11-27T01:22:20.869610604+01:00')?.epochNanos).to.equal(1_795_738_940_869_610_604n);
    expect(parseRfc3339('2026-11-26T23:52:20.869610604-00:30')?.epochNanos).to.equal(1_795_738_940_869_610_604n);
    expect(parseRfc3339('2026-11-27T00:22:20.8Z')?.epochMs).to.equal(Date.parse('2026-11-27T00:22:20.800Z'));
    expect(parseRfc3339('1969-12-31T23:59:59.999999999Z')?.epochNanos).to.equal(-1n);
    expect(parseRfc3339('0050-06-01T00:00:00Z')?.epochMs).to.equal(Date.parse('0050-06-01T00:00:00Z'));
  });

  it("recognises Go's zero time in any offset", () => {
    expect(parseRfc3339('0001-01-01T00:00:00Z')?.isGoZeroTime).to.equal(true);
    expect(parseRfc3339('0001-01-01T00:00:00.000000000Z')?.isGoZeroTime).to.equal(true);
    expect(parseRfc3339('0001-01-01T00:00:00.000000001Z')?.isGoZeroTime).to.equal(false);
  });

  it('refuses anything else', () => {
    for (const text of [
      '',
      '2026-11-27',
      '2026-11-27 00:22:20Z',
      '2026-11-27T00:22:20',
      '2026-11-27T00:22:20.Z',
      '2026-11-27T00:22:20.1234567890Z',
      '2026-11-27T24:00:00Z',
      '2026-11-27T00:60:00Z',
      '2026-11-27T00:00:60Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-11-27T00:00:00+24:00',
      '2026-11-27T00:00:00+0100',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00+00:01',
      '9999-12-31T23:59:59-01:00',
      // PostgreSQL rounds it to the microsecond: 10000-01-01, which no cursor or RFC 3339 text can hold
      '9999-12-31T23:59:59.9999995Z',
      '9999-12-31T23:59:59.999999999Z',
      '+2026-11-27T00:00:00Z',
      ' 2026-11-27T00:00:00Z',
      '２０２６-11-27T00:00:00Z',
    ]) {
      expect(parseRfc3339(text), text).to.equal(undefined);
    }
    expect(parseRfc3339('2000-02-29T00:00:00Z')).not.to.equal(undefined);
    expect(parseRfc3339('9999-12-31T23:59:59.999999499Z')).not.to.equal(undefined);
    expect(parseRfc3339('1900-02-29T00:00:00Z')).to.equal(undefined);
  });
});
