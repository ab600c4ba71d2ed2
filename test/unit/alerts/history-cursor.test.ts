import { expect } from 'chai';
import { decodeHistoryCursor, encodeHistoryCursor } from '../../../src/alerts/history-cursor.js';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';

function refusal(text: unknown): QueryParameterError {
  try {
    decodeHistoryCursor(text);
  } catch (error) {
    expect(error).to.be.instanceOf(QueryParameterError);
    return error as QueryParameterError;
  }
  throw new Error('expected the cursor to be refused');
}

describe('history cursor', () => {
  it('round-trips the keyset (microseconds and a bigint id) as opaque base64url', () => {
    const cursor = { startsAt: '2026-11-27T00:22:20.869611Z', id: '9223372036854775807' };
    const text = encodeHistoryCursor(cursor);
    expect(text).to.match(/^[A-Za-z0-9_-]+$/);
    expect(decodeHistoryCursor(text)).to.deep.equal(cursor);
  });

  it('refuses anything it did not make, naming cursor, never echoing it', () => {
    const good = encodeHistoryCursor({ startsAt: '2026-11-27T00:22:20.869611Z', id: '42' });
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: unknown[] = [
      undefined,
      42,
      '',
      'has spaces',
      `${good}==`,
      good.slice(1),
      'x'.repeat(300),
      encode('string'),
      encode(null),
      encode([1]),
      encode({ v: 2, s: '2026-11-27T00:22:20.869611Z', i: '42' }),
      encode({ v: 1, s: '2026-11-27T00:22:20Z', i: '42' }),
      encode({ v: 1, s: '2026-11-27T00:22:20.869611+01:00', i: '42' }),
      encode({ v: 1, s: '2026-02-30T00:22:20.869611Z', i: '42' }),
      encode({ v: 1, s: '2026-11-27T00:22:20.869611Z', i: 42 }),
      encode({ v: 1, s: '2026-11-27T00:22:20.869611Z', i: '042' }),
      encode({ v: 1, s: '2026-11-27T00:22:20.869611Z', i: '0' }),
      encode({ v: 1, s: '2026-11-27T00:22:20.869611Z', i: '9223372036854775808' }),
      encode({ i: '42', s: '2026-11-27T00:22:20.869611Z', v: 1 }),
      Buffer.from('{"v":1,').toString('base64url'),
    ];
    for (const text of bad) {
      const error = refusal(text);
      expect(error.parameter).to.equal('cursor');
      expect(error).to.include({ kind: 'data', code: 'INVALID_QUERY_PARAMETER' });
      if (typeof text === 'string' && text.length > 10) expect(error.message).not.to.include(text);
    }
  });
});
