/**
 * `-- +goose ENVSUB ON` substitution: environment variables expanded in one line of a migration,
 * with the semantics goose v3 has (it uses github.com/mfridman/interpolate v0.0.2, a fork of
 * buildkite/interpolate). Written from that behaviour, not from its code.
 */

/** Where variables are looked up: a name maps to its value; `undefined` (or no entry) means unset. */
export type EnvsubEnvironment = Readonly<Record<string, string | undefined>>;

/** The outcome of {@link substituteEnv}: the expanded text, or why the line cannot be expanded. */
export type EnvsubResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: string };

/**
 * Expands the variables of `text` (one line, without its line break).
 *
 * - `$NAME`, `${NAME}`: the value; an empty string when unset. A name starts with a letter and
 *   goes on with letters, digits and `_` (Unicode letters and digits count).
 * - `${NAME:-word}`: `word` when `NAME` is unset or empty; `${NAME-word}`: `word` only when unset.
 *   `word` may itself contain expansions; it ends at the first `}` that is not part of one.
 * - `${NAME?word}`: the value, or an error `$NAME: word` (`$NAME: not set` without a word) when
 *   unset; an empty value is a value.
 * - `${NAME:offset}`, `${NAME:offset:length}`: a slice of the value in UTF-8 bytes, as bash
 *   slices (negative offset and length count from the end; out-of-range values are clamped).
 * - `\$` and `$$` are a literal `$`; `\\` stays `\\` (both backslashes kept) and escapes
 *   nothing that follows; `$(` is kept as is; a `$` that ends the line is kept as is.
 *
 * Errors, as goose: a `$` followed by anything else (`$1`, `$ `, `$_X`, `$'`): so SQL with
 * positional parameters or `$tag$` quotes must stay outside `ENVSUB ON`/`OFF`, and `$$` turns into
 * `$`; `${NAME:?word}` (goose does not support it: it is read as a substring with offset `?word`);
 * an unclosed `${`; an unknown operator after the name. A line is parsed whole before anything is
 * expanded, so a syntax error wins over a missing `${NAME?}` variable, and a default that is not
 * used is never evaluated.
 */
export function substituteEnv(text: string, env: EnvsubEnvironment): EnvsubResult {
  let expression: Expression;
  try {
    expression = new ExpressionParser(text).parseAll();
  } catch (error) {
    if (error instanceof EnvsubProblem) return { ok: false, problem: error.message };
    throw error;
  }
  try {
    return { ok: true, text: expand(expression, env) };
  } catch (error) {
    if (error instanceof EnvsubProblem) return { ok: false, problem: error.message };
    throw error;
  }
}

/** A piece of a parsed line. */
type Item =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'variable'; readonly name: string }
  | { readonly kind: 'default'; readonly name: string; readonly whenEmpty: boolean; readonly word: Expression }
  | { readonly kind: 'required'; readonly name: string; readonly message: Expression }
  | { readonly kind: 'substring'; readonly name: string; readonly offset: number; readonly length: number | undefined };

type Expression = readonly Item[];

/** Why a line cannot be expanded; caught by {@link substituteEnv}. */
class EnvsubProblem extends Error {}

const NAME_START = /^\p{L}$/u;
const NAME_PART = /^[\p{L}\p{N}_]$/u;
const INTEGER = /^[+-]?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Go's `unicode.IsSpace` set, for trimming offsets as `strings.TrimSpace` does. */
const GO_SPACE_RUN = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Recursive descent over the line; positions are UTF-16 indexes, reported 1-based as columns. */
class ExpressionParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseAll(): Expression {
    return this.parseExpression(false);
  }

  /** Text and expansions up to the end, or up to a `}` when `inBraces`. */
  private parseExpression(inBraces: boolean): Expression {
    const items: Item[] = [];
    const { text } = this;
    while (this.pos < text.length) {
      const c = text[this.pos];
      if (inBraces && c === '}') break;
      const rest2 = text.slice(this.pos, this.pos + 2);
      if (rest2 === '\\\\') {
        items.push({ kind: 'text', text: '\\\\' });
        this.pos += 2;
      } else if (rest2 === '\\$' || rest2 === '$$') {
        items.push({ kind: 'text', text: '$' });
        this.pos += 2;
      } else if (rest2 === '$(') {
        items.push({ kind: 'text', text: '$(' });
        this.pos += 2;
      } else if (c === '$' && this.pos < text.length - 1) {
        items.push(this.parseExpansion());
      } else {
        const start = this.pos;
        this.pos += 1;
        while (this.pos < text.length && !isTextStop(text[this.pos], inBraces)) this.pos += 1;
        items.push({ kind: 'text', text: text.slice(start, this.pos) });
      }
    }
    return items;
  }

  /** At a `$` that is not the last character. */
  private parseExpansion(): Item {
    const column = this.pos + 1;
    this.pos += 1;
    if (this.text[this.pos] === '{') return this.parseBraces(column);
    const name = this.scanName();
    if (name === undefined) {
      throw new EnvsubProblem(`"$" at column ${column} must be followed by a variable name or "{" (write "$$" or "\\$" for a literal "$")`);
    }
    return { kind: 'variable', name };
  }

  /** At the `{` of `${`; `column` is the `$`'s. */
  private parseBraces(column: number): Item {
    this.pos += 1;
    const name = this.scanName();
    if (name === undefined) throw new EnvsubProblem(`"\${" at column ${column} must be followed by a variable name`);
    const where = `"\${${name}" at column ${column}`;
    let item: Item;
    const operator = this.text[this.pos];
    if (operator === '}') {
      item = { kind: 'variable', name };
    } else if (operator === ':' && this.text[this.pos + 1] === '-') {
      this.pos += 2;
      item = { kind: 'default', name, whenEmpty: true, word: this.parseExpression(true) };
    } else if (operator === '-') {
      this.pos += 1;
      item = { kind: 'default', name, whenEmpty: false, word: this.parseExpression(true) };
    } else if (operator === '?') {
      this.pos += 1;
      item = { kind: 'required', name, message: this.parseExpression(true) };
    } else if (operator === ':') {
      this.pos += 1;
      item = this.parseSubstring(name, where, column);
    } else {
      const found = operator === undefined ? 'the end of the line' : `"${String.fromCodePoint(this.text.codePointAt(this.pos) ?? 0)}"`;
      throw new EnvsubProblem(`${where}: expected "}", ":-", "-", "?" or ":" after the name, found ${found}`);
    }
    if (this.text[this.pos] !== '}') throw new EnvsubProblem(`${where} is not closed by "}"`);
    this.pos += 1;
    return item;
  }

  /** After `${NAME:`: `offset` or `offset:length`, up to (not including) the `}`. */
  private parseSubstring(name: string, where: string, column: number): Item {
    const offsetText = this.scanUntil((c) => c === ':' || c === '}');
    if (offsetText.startsWith('?')) {
      throw new EnvsubProblem(`"\${${name}:?" at column ${column} is not supported (goose does not support it either); use "\${${name}?message}"`);
    }
    const offset = parseGoInt(offsetText);
    if (offset === undefined) throw new EnvsubProblem(`${where}: the substring offset ${JSON.stringify(offsetText)} is not an integer`);
    if (this.text[this.pos] === '}') return { kind: 'substring', name, offset, length: undefined };
    if (this.pos < this.text.length) this.pos += 1;
    const lengthText = this.scanUntil((c) => c === '}');
    const length = parseGoInt(lengthText);
    if (length === undefined) throw new EnvsubProblem(`${where}: the substring length ${JSON.stringify(lengthText)} is not an integer`);
    return { kind: 'substring', name, offset, length };
  }

  /** A variable name at the current position, or `undefined` (nothing consumed) when none starts here. */
  private scanName(): string | undefined {
    const first = this.text.codePointAt(this.pos);
    if (first === undefined || !NAME_START.test(String.fromCodePoint(first))) return undefined;
    const start = this.pos;
    for (;;) {
      const cp = this.text.codePointAt(this.pos);
      if (cp === undefined) break;
      const ch = String.fromCodePoint(cp);
      if (!NAME_PART.test(ch)) break;
      this.pos += ch.length;
    }
    return this.text.slice(start, this.pos);
  }

  private scanUntil(stop: (c: string) => boolean): string {
    const start = this.pos;
    while (this.pos < this.text.length && !stop(this.text[this.pos] ?? '')) this.pos += 1;
    return this.text.slice(start, this.pos);
  }
}

function isTextStop(c: string | undefined, inBraces: boolean): boolean {
  return c === '$' || c === '\\' || (inBraces && c === '}');
}

/** Go's `strconv.Atoi` of the trimmed text (optional sign, decimal digits, 64-bit range). */
function parseGoInt(text: string): number | undefined {
  const trimmed = text.replace(GO_SPACE_RUN, '');
  if (!INTEGER.test(trimmed)) return undefined;
  const value = BigInt(trimmed);
  if (value < INT64_MIN || value > INT64_MAX) return undefined;
  // Beyond the safe range a value only ever gets clamped to the string's length, so rounding is harmless.
  return Number(value);
}

function lookup(env: EnvsubEnvironment, name: string): string | undefined {
  if (!Object.hasOwn(env, name)) return undefined;
  const value = env[name];
  return typeof value === 'string' ? value : undefined;
}

function expand(expression: Expression, env: EnvsubEnvironment): string {
  let out = '';
  for (const item of expression) out += expandItem(item, env);
  return out;
}

function expandItem(item: Item, env: EnvsubEnvironment): string {
  switch (item.kind) {
    case 'text':
      return item.text;
    case 'variable':
      return lookup(env, item.name) ?? '';
    case 'default': {
      const value = lookup(env, item.name);
      const useWord = value === undefined || (item.whenEmpty && value === '');
      return useWord ? expand(item.word, env) : value;
    }
    case 'required': {
      const value = lookup(env, item.name);
      if (value !== undefined) return value;
      const message = expand(item.message, env);
      throw new EnvsubProblem(`$${item.name}: ${message === '' ? 'not set' : message}`);
    }
    case 'substring':
      return substring(lookup(env, item.name) ?? '', item.offset, item.length);
  }
}

/** bash's `${V:offset:length}` over the UTF-8 bytes of `value`, clamped as interpolate clamps. */
function substring(value: string, offset: number, length: number | undefined): string {
  const bytes = Buffer.from(value, 'utf8');
  const size = bytes.length;
  let from = offset < 0 ? offset + size : offset;
  from = Math.min(Math.max(from, 0), size);
  if (length === undefined) return bytes.subarray(from).toString('utf8');
  let to = length >= 0 ? from + length : Math.max(length + size, from);
  to = Math.min(to, size);
  return bytes.subarray(from, to).toString('utf8');
}
