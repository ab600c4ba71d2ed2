import { sql, type Expression, type SqlBool } from 'kysely';
import type { LabelMatcher } from './alert-types.js';
import { QueryParameterError } from './query-parameter-error.js';
import { storableText } from './query-parameters.js';

/** Most label matchers one history query may carry. */
export const MAX_LABEL_MATCHERS = 32;
/** Longest regular expression accepted in a matcher. */
export const MAX_REGEX_LENGTH = 1024;

const OPS: ReadonlySet<string> = new Set(['=', '!=', '=~', '!~']);
/** PostgreSQL ARE embedded options (`(?i)`), valid only at the very start of a pattern. */
const EMBEDDED_OPTIONS = /^\(\?[bceimnpqstwx]+\)/;

/** A regular expression of a matcher, to be checked by the server before use. */
export interface RegexCheck {
  /** The matcher, as the caller named it: `labels[2]`. */
  readonly parameter: string;
  /** The pattern as the caller wrote it (checked alone too: it must be balanced by itself). */
  readonly raw: string;
  /** What the query uses: anchored on both ends, a full match. */
  readonly anchored: string;
}

/** Label matchers, checked and sorted by how they run. */
export interface CheckedMatchers {
  /** `=` with a non-empty value, merged into as few `labels @> {…}` documents as possible (each served by the GIN index). */
  readonly containments: readonly Readonly<Record<string, string>>[];
  /** Everything else: compared on `coalesce(labels ->> name, '')`. */
  readonly comparisons: readonly { readonly name: string; readonly op: LabelMatcher['op']; readonly value: string }[];
  readonly regexes: readonly RegexCheck[];
}

/**
 * A full-match pattern from a Prometheus-style matcher value: `^(?:value)$`, with PostgreSQL's
 * leading embedded options (`(?i)`) kept in front, where they must be.
 */
export function anchorRegex(value: string): string {
  const options = EMBEDDED_OPTIONS.exec(value)?.[0] ?? '';
  return `${options}^(?:${value.slice(options.length)})$`;
}

function checkMatcher(matcher: unknown, parameter: string): LabelMatcher {
  if (typeof matcher !== 'object' || matcher === null) throw new QueryParameterError(parameter, 'must be an object { name, op, value }');
  const { name, op, value } = matcher as Partial<Record<keyof LabelMatcher, unknown>>;
  if (typeof name !== 'string' || name.length === 0) throw new QueryParameterError(parameter, 'name must be a non-empty string');
  storableText(`${parameter}.name`, name);
  if (typeof op !== 'string' || !OPS.has(op)) throw new QueryParameterError(parameter, 'op must be one of =, !=, =~, !~');
  if (typeof value !== 'string') throw new QueryParameterError(parameter, 'value must be a string');
  storableText(`${parameter}.value`, value);
  if ((op === '=~' || op === '!~') && value.length > MAX_REGEX_LENGTH) {
    throw new QueryParameterError(parameter, `regular expression must be at most ${MAX_REGEX_LENGTH} characters; got ${value.length}`);
  }
  return { name, op: op as LabelMatcher['op'], value };
}

/**
 * Checks label matchers (Prometheus semantics: a missing label reads as the empty string, so
 * `name=""` matches alerts without the label, and `name!="x"` matches them too; `=~` and `!~` are
 * full matches) and sorts them by how they run.
 * @param parameterOf how the caller names the i-th matcher (`labels[i]`)
 * @throws QueryParameterError naming the matcher
 */
export function checkMatchers(matchers: readonly unknown[], parameterOf: (index: number) => string): CheckedMatchers {
  if (matchers.length > MAX_LABEL_MATCHERS) {
    throw new QueryParameterError('labels', `at most ${MAX_LABEL_MATCHERS} label matchers; got ${matchers.length}`);
  }
  const containments: Record<string, string>[] = [];
  const comparisons: { name: string; op: LabelMatcher['op']; value: string }[] = [];
  const regexes: RegexCheck[] = [];
  matchers.forEach((item, index) => {
    const parameter = parameterOf(index);
    const matcher = checkMatcher(item, parameter);
    if (matcher.op === '=' && matcher.value !== '') {
      // a document without this name yet; a second, different value for one name needs its own
      let target = containments.find((document) => !Object.hasOwn(document, matcher.name));
      if (target === undefined) {
        target = {};
        containments.push(target);
      }
      Object.defineProperty(target, matcher.name, { value: matcher.value, enumerable: true, writable: true, configurable: true });
      return;
    }
    comparisons.push({ ...matcher });
    if (matcher.op === '=~' || matcher.op === '!~') regexes.push({ parameter, raw: matcher.value, anchored: anchorRegex(matcher.value) });
  });
  return { containments, comparisons, regexes };
}

/** The label's value, the empty string when it is missing (bound as a parameter: never spliced). */
function labelValue(name: string): Expression<string> {
  return sql<string>`coalesce(labels ->> ${name}, '')`;
}

/** The matchers as conditions on the `labels` column of the (only) table in scope, to combine with AND. */
export function matcherConditions(checked: CheckedMatchers): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = checked.containments.map((document) => sql<SqlBool>`labels @> ${JSON.stringify(document)}::jsonb`);
  for (const { name, op, value } of checked.comparisons) {
    const label = labelValue(name);
    if (op === '=') conditions.push(sql<SqlBool>`${label} = ${value}`);
    else if (op === '!=') conditions.push(sql<SqlBool>`${label} <> ${value}`);
    else if (op === '=~') conditions.push(sql<SqlBool>`${label} ~ ${anchorRegex(value)}`);
    else conditions.push(sql<SqlBool>`${label} !~ ${anchorRegex(value)}`);
  }
  return conditions;
}
