import type { LabelMatcher } from '../alerts/alert-types.js';
import { QueryParameterError, quoteValue } from '../alerts/query-parameter-error.js';

/** `name` `op` `value`: the name runs to the first `=`, `!=`, `=~` or `!~`; the value is the rest (possibly empty). */
const MATCHER = /^([^=!~]+)(=~|!~|!=|=)([\s\S]*)$/;

/**
 * Parses the values of the repeatable `label` parameter, Prometheus style: `key=value`,
 * `key!=value`, `key=~regex`, `key!~regex` (regular expressions match the whole value).
 *
 * @throws QueryParameterError naming `label` for a value of another form.
 */
export function parseLabelMatchers(values: readonly string[]): LabelMatcher[] {
  return values.map((text) => {
    const match = MATCHER.exec(text);
    if (match === null) {
      throw new QueryParameterError('label', `must be key=value, key!=value, key=~regex or key!~regex (got ${quoteValue(text)})`);
    }
    const [, name = '', op, value = ''] = match;
    return Object.freeze({ name, op: op as LabelMatcher['op'], value });
  });
}
