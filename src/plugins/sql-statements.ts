/**
 * A lexical scan of SQL text that tells a single statement from several. Not a parser: it only
 * knows where string literals, quoted identifiers, dollar-quoted strings and comments start and
 * end, which is all that is needed to find the `;` that separate statements.
 *
 * It assumes `standard_conforming_strings = on` (PostgreSQL's default since 9.1): in `'…'` a
 * backslash is an ordinary character; only `E'…'` strings treat it as an escape.
 */

const SEMICOLON = 0x3b; // ;
const SINGLE_QUOTE = 0x27; // '
const DOUBLE_QUOTE = 0x22; // "
const DOLLAR = 0x24; // $
const DASH = 0x2d; // -
const SLASH = 0x2f; // /
const STAR = 0x2a; // *
const BACKSLASH = 0x5c; // \

/** Whitespace as PostgreSQL's lexer knows it: space, tab, newline, carriage return, form feed (and vertical tab). */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** A character that may start an identifier or a dollar-quote tag: a letter, `_`, or any non-ASCII character. */
function isIdentStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f || code >= 0x80;
}

/** A character that may continue an identifier (digits and `$` too). */
function isIdentChar(code: number): boolean {
  return isIdentStart(code) || (code >= 0x30 && code <= 0x39) || code === DOLLAR;
}

/** Index just past a `'…'` literal opened at `start`; `''` escapes, and in an `E'…'` string a backslash does too. */
function skipString(sql: string, start: number, backslashEscapes: boolean): number {
  let i = start + 1;
  const end = sql.length;
  while (i < end) {
    const code = sql.charCodeAt(i);
    if (backslashEscapes && code === BACKSLASH) {
      i += 2;
    } else if (code === SINGLE_QUOTE) {
      if (sql.charCodeAt(i + 1) === SINGLE_QUOTE) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return end;
}

/** Index just past a `"…"` identifier opened at `start`; `""` escapes. */
function skipQuotedIdentifier(sql: string, start: number): number {
  let i = start + 1;
  const end = sql.length;
  while (i < end) {
    if (sql.charCodeAt(i) === DOUBLE_QUOTE) {
      if (sql.charCodeAt(i + 1) === DOUBLE_QUOTE) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return end;
}

/**
 * Index just past a `$tag$…$tag$` string opened at `start`, or `-1` when the `$` there opens none
 * (a parameter such as `$1`, or a stray `$`).
 */
function skipDollarQuoted(sql: string, start: number): number {
  let i = start + 1;
  const end = sql.length;
  if (i < end && isIdentStart(sql.charCodeAt(i))) {
    i += 1;
    while (i < end) {
      const code = sql.charCodeAt(i);
      if (!isIdentStart(code) && !(code >= 0x30 && code <= 0x39)) break;
      i += 1;
    }
  }
  if (i >= end || sql.charCodeAt(i) !== DOLLAR) return -1;
  const tag = sql.slice(start, i + 1);
  const close = sql.indexOf(tag, i + 1);
  return close === -1 ? end : close + tag.length;
}

/** Index just past a (possibly nested) block comment opened at `start`. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 1;
  let i = start + 2;
  const end = sql.length;
  while (i < end) {
    const code = sql.charCodeAt(i);
    if (code === SLASH && sql.charCodeAt(i + 1) === STAR) {
      depth += 1;
      i += 2;
    } else if (code === STAR && sql.charCodeAt(i + 1) === SLASH) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return end;
}

/** Whether the `'` at `quote` opens an `E'…'` string: an `E` or `e` right before it that is not the end of a longer word. */
function isEscapeString(sql: string, quote: number): boolean {
  if (quote === 0) return false;
  const prefix = sql.charCodeAt(quote - 1);
  if (prefix !== 0x45 && prefix !== 0x65) return false;
  return quote === 1 || !isIdentChar(sql.charCodeAt(quote - 2));
}

/**
 * Whether `sql` holds more than one statement: a `;` followed by more SQL, outside string
 * literals (`'…'`, `E'…'`), quoted identifiers (`"…"`), dollar-quoted strings (`$$…$$`,
 * `$tag$…$tag$`) and comments (`-- …`, nested `/* … *\/`). A trailing `;` with only whitespace,
 * comments or more `;` after it is still one statement (the server ignores empty statements).
 *
 * Such a text can only run with the simple query protocol; the server refuses to prepare it
 * (`42601 cannot insert multiple commands into a prepared statement`). Unterminated quotes or
 * comments run to the end of the text (the server reports the error). Costs one `indexOf` for a
 * text without `;`, one pass over the text otherwise.
 */
export function hasMultipleStatements(sql: string): boolean {
  if (sql.indexOf(';') === -1) return false;
  const end = sql.length;
  let afterSemicolon = false;
  let i = 0;
  while (i < end) {
    const code = sql.charCodeAt(i);
    if (isSpace(code)) {
      i += 1;
      continue;
    }
    if (code === SEMICOLON) {
      afterSemicolon = true;
      i += 1;
      continue;
    }
    if (code === DASH && sql.charCodeAt(i + 1) === DASH) {
      const newline = sql.indexOf('\n', i + 2);
      i = newline === -1 ? end : newline + 1;
      continue;
    }
    if (code === SLASH && sql.charCodeAt(i + 1) === STAR) {
      i = skipBlockComment(sql, i);
      continue;
    }
    // anything else is SQL: after a `;`, a second statement
    if (afterSemicolon) return true;
    if (code === SINGLE_QUOTE) {
      i = skipString(sql, i, isEscapeString(sql, i));
    } else if (code === DOUBLE_QUOTE) {
      i = skipQuotedIdentifier(sql, i);
    } else if (code === DOLLAR) {
      const next = skipDollarQuoted(sql, i);
      i = next === -1 ? i + 1 : next;
    } else if (isIdentChar(code)) {
      // a whole word at once: a `$` inside it (`a$b`) opens no dollar quote
      i += 1;
      while (i < end && isIdentChar(sql.charCodeAt(i))) i += 1;
    } else {
      i += 1;
    }
  }
  return false;
}
