/** Words that can start the main statement after a `with` clause. */
const MAIN_STATEMENT_KEYWORDS: ReadonlySet<string> = new Set(['select', 'insert', 'update', 'delete', 'merge', 'values', 'table']);

/** Longest prefix of a statement that is scanned; the leading keyword is always far earlier. */
const SCAN_LIMIT = 64 * 1024;

function isWordChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || (code >= 48 && code <= 57);
}

/** Index just past a quoted section (`'…'` or `"…"`) starting at `start`; doubled quotes escape. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return i;
}

/** Index just past a `$tag$…$tag$` section starting at `start`, or `start + 1` if it is no such section. */
function skipDollarQuoted(sql: string, start: number): number {
  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64));
  if (!match) return start + 1;
  const tag = match[0];
  const end = sql.indexOf(tag, start + tag.length);
  return end === -1 ? sql.length : end + tag.length;
}

/** Index just past a (possibly nested) block comment starting at `start`. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return i;
}

/**
 * The lower-case keyword that decides what a SQL statement does, or `undefined` when there is none:
 * the first word, skipping comments and opening parentheses; for `with …` the first word of the
 * main statement after the common table expressions. A cheap lexical scan, not a parser.
 */
export function leadingStatementKeyword(sql: string): string | undefined {
  const end = Math.min(sql.length, SCAN_LIMIT);
  let depth = 0;
  let sawWith = false;
  let i = 0;
  while (i < end) {
    const char = sql[i];
    const code = sql.charCodeAt(i);
    if (char === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? end : newline + 1;
    } else if (char === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (char === "'" || char === '"') {
      i = skipQuoted(sql, i, char);
    } else if (char === '$') {
      i = skipDollarQuoted(sql, i);
    } else if (char === '(') {
      depth += 1;
      i += 1;
    } else if (char === ')') {
      depth = Math.max(0, depth - 1);
      i += 1;
    } else if (isWordChar(code)) {
      let j = i + 1;
      while (j < end && isWordChar(sql.charCodeAt(j))) j += 1;
      const word = sql.slice(i, j).toLowerCase();
      if (!sawWith) {
        if (word !== 'with') return word;
        sawWith = true;
        depth = 0;
      } else if (depth === 0 && MAIN_STATEMENT_KEYWORDS.has(word)) {
        return word;
      }
      i = j;
    } else {
      i += 1;
    }
  }
  return sawWith ? 'with' : undefined;
}
