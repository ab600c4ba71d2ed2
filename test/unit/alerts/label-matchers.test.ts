import { expect } from 'chai';
import { anchorRegex, checkMatchers } from '../../../src/alerts/label-matchers.js';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';

const name = (index: number): string => `labels[${index}]`;

describe('label matchers', () => {
  it('anchors a regular expression for a full match, keeping leading embedded options first', () => {
    expect(anchorRegex('crit.*')).to.equal('^(?:crit.*)$');
    expect(anchorRegex('a|b')).to.equal('^(?:a|b)$');
    expect(anchorRegex('(?i)alpha')).to.equal('(?i)^(?:alpha)$');
    expect(anchorRegex('')).to.equal('^(?:)$');
  });

  it('merges equalities into containment documents, one value per name per document', () => {
    const checked = checkMatchers(
      [
        { name: 'severity', op: '=', value: 'critical' },
        { name: 'namespace', op: '=', value: 'prod' },
        { name: 'severity', op: '=', value: 'warning' },
        { name: '__proto__', op: '=', value: 'x' },
        { name: 'team', op: '=', value: '' },
        { name: 'instance', op: '!=', value: 'a' },
        { name: 'job', op: '=~', value: 'api|web' },
        { name: 'job', op: '!~', value: 'batch.*' },
      ],
      name,
    );
    expect(checked.containments.map((document) => JSON.stringify(document))).to.deep.equal([
      '{"severity":"critical","namespace":"prod","__proto__":"x"}',
      '{"severity":"warning"}',
    ]);
    expect(checked.comparisons).to.deep.equal([
      { name: 'team', op: '=', value: '' },
      { name: 'instance', op: '!=', value: 'a' },
      { name: 'job', op: '=~', value: 'api|web' },
      { name: 'job', op: '!~', value: 'batch.*' },
    ]);
    expect(checked.regexes).to.deep.equal([
      { parameter: 'labels[6]', raw: 'api|web', anchored: '^(?:api|web)$' },
      { parameter: 'labels[7]', raw: 'batch.*', anchored: '^(?:batch.*)$' },
    ]);
  });

  it('names the invalid matcher', () => {
    const cases: [unknown, string][] = [
      [null, 'labels[0]'],
      [{ name: '', op: '=', value: 'x' }, 'labels[0]'],
      [{ name: 'a', op: '~', value: 'x' }, 'labels[0]'],
      [{ name: 'a', op: '=', value: 1 }, 'labels[0]'],
      [{ name: 'a\u0000', op: '=', value: 'x' }, 'labels[0].name'],
      [{ name: 'a', op: '!=', value: '\u0000' }, 'labels[0].value'],
      [{ name: 'a', op: '=~', value: 'x'.repeat(1025) }, 'labels[0]'],
    ];
    for (const [matcher, parameter] of cases) {
      expect(() => checkMatchers([matcher], name), parameter).to.throw(QueryParameterError).with.property('parameter', parameter);
    }
    expect(() => checkMatchers(Array.from({ length: 33 }, () => ({ name: 'a', op: '=', value: 'b' })), name)).to.throw(QueryParameterError).with.property('parameter', 'labels');
  });
});
