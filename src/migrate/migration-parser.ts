import { MigrationSourceError } from '../errors/migration-error.js';
import { substituteEnv, type EnvsubEnvironment } from './envsub.js';
import type { MigrationStatement, ParsedMigration } from './migration-types.js';

/** Options of {@link parseMigration}. */
export interface ParseMigrationOptions {
  /** The file name, for error messages (e.g. `00002_add_alerts.sql`). */
  readonly file: string;
  /** Variables for `-- +goose ENVSUB ON` sections; default `process.env`. */
  readonly env?: EnvsubEnvironment;
}

/**
 * Parses a goose SQL migration (goose v3.27's rules, written from its behaviour).
 *
 * Lines end at `\n` (a `\r` before it is dropped); a UTF-8 byte order mark at the very start is
 * ignored (goose rejects such a file).
 *
 * **Annotations.** A line whose trimmed text starts with `--` and that contains `+goose` anywhere
 * is an annotation: every `--` is removed, then the first `+goose`, and what is left, trimmed, is
 * compared case-insensitively with `Up`, `Down`, `StatementBegin`, `StatementEnd`,
 * `NO TRANSACTION`, `ENVSUB ON`, `ENVSUB OFF`. Anything else is an error: an unknown or empty
 * annotation, a second `+goose` on the line, an annotation that does not start at the first
 * column (leading space or tab), and also a comment that merely mentions `+goose`, even inside a
 * statement (as in goose).
 *
 * **Sections.** Blank lines and `--` comments may precede `-- +goose Up`; any other text there is
 * an error, as is a file without `Up`, a second `Up`, a `Down` before `Up`, a second `Down`.
 * `Down` is optional; either section may have no statements. `NO TRANSACTION` anywhere (even
 * before `Up`) makes {@link ParsedMigration.useTransaction} false.
 *
 * **Statements.** Outside a block a statement ends with the line whose last word (words are split
 * on white space; scanning stops at a word that starts with `--`) ends with `;`. So `a; -- note`
 * ends a statement, but `a;-- note` does not (`a;--` is one word), nor does a `;` inside a block
 * comment that closes on the same line; a `;` that ends a line inside a string does.
 * `-- +goose StatementBegin` … `-- +goose StatementEnd` make one statement of all the lines
 * between them, whatever `;` they contain; it is sent as one text (several SQL statements in it
 * run through the simple query protocol). A block is only allowed in a section,
 * not inside another block, and not after an unterminated statement (goose would glue that text
 * onto the block); a block with nothing but comments and blank lines yields no statement.
 * Until a statement has started, comment lines and empty lines are dropped; once it has started
 * (a whitespace-only line counts as a start, as in goose) every line is kept. The statement text
 * is trimmed; its {@link MigrationStatement.line} is the line where that text begins. A section
 * (or the file) that ends inside a block, or with text not terminated by `;`, is an error.
 *
 * **ENVSUB.** Between `-- +goose ENVSUB ON` and `-- +goose ENVSUB OFF` every line of a statement
 * (comments inside it too, not the comments dropped before it) goes through
 * goose's variable expansion (`$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME?word}`…, read from
 * `options.env`; docs/migrations.md); the `;` test looks at the substituted line, as goose does.
 *
 * @throws MigrationSourceError with the file and the line of the problem.
 */
export function parseMigration(text: string, options: ParseMigrationOptions): ParsedMigration {
  const parser = new MigrationParser(options.file, options.env ?? process.env);
  const lines = splitLines(text);
  lines.forEach((line, index) => parser.line(line, index + 1));
  return parser.end();
}

/** The annotations goose knows, in their canonical spelling. */
const ANNOTATIONS = ['Up', 'Down', 'StatementBegin', 'StatementEnd', 'NO TRANSACTION', 'ENVSUB ON', 'ENVSUB OFF'] as const;
type Annotation = (typeof ANNOTATIONS)[number];

type Section = 'up' | 'down';

/** Where the parser is: before `Up`, in a section, or inside a `StatementBegin` block of a section. */
type State =
  | { readonly kind: 'start' }
  | { readonly kind: 'section'; readonly section: Section }
  | { readonly kind: 'block'; readonly section: Section; readonly beginLine: number };

/** A line of the statement being collected (after `ENVSUB`). */
interface PendingLine {
  readonly text: string;
  readonly line: number;
}

/** Go's `unicode.IsSpace` set (what `strings.TrimSpace` and `bufio.ScanWords` use). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');
const GO_WORDS = new RegExp(`[^${GO_SPACE}]+`, 'g');
const GO_NON_SPACE = new RegExp(`[^${GO_SPACE}]`);

class MigrationParser {
  private state: State = { kind: 'start' };
  private readonly up: MigrationStatement[] = [];
  private readonly down: MigrationStatement[] = [];
  private upLine: number | undefined;
  private downLine: number | undefined;
  private useTransaction = true;
  private envsub = false;
  private pending: PendingLine[] = [];

  constructor(
    private readonly file: string,
    private readonly env: EnvsubEnvironment,
  ) {}

  line(text: string, line: number): void {
    const trimmed = goTrim(text);
    if (this.state.kind === 'start' && trimmed === '') return;
    if (trimmed.startsWith('--') && text.includes('+goose')) {
      this.annotation(readAnnotation(text, (reason) => this.fail(reason, line)), line);
      return;
    }
    // Before a statement has started, comments and empty lines are dropped (a whitespace-only line is not).
    if (this.pending.length === 0 && (trimmed.startsWith('--') || text === '')) return;
    if (this.state.kind === 'start') this.fail('SQL before the "-- +goose Up" annotation', line);
    const sql = this.envsub ? this.substitute(text, line) : text;
    this.pending.push({ text: sql, line });
    if (this.state.kind === 'section' && endsWithSemicolon(sql)) this.flush(this.state.section);
  }

  end(): ParsedMigration {
    const { state } = this;
    if (state.kind === 'start') this.fail('no "-- +goose Up" annotation: a migration must start with one', 1);
    if (state.kind === 'block') {
      this.fail('"-- +goose StatementBegin" is never closed by "-- +goose StatementEnd" (the file ends first)', state.beginLine);
    }
    this.requireNoPending('at the end of the file');
    return Object.freeze({
      up: Object.freeze(this.up),
      down: Object.freeze(this.down),
      hasDown: this.downLine !== undefined,
      useTransaction: this.useTransaction,
    });
  }

  private annotation(annotation: Annotation, line: number): void {
    const { state } = this;
    switch (annotation) {
      case 'Up':
        if (state.kind !== 'start') this.fail(`duplicate "-- +goose Up" annotation (the first is at line ${this.upLine ?? '?'})`, line);
        this.upLine = line;
        this.state = { kind: 'section', section: 'up' };
        return;
      case 'Down':
        if (state.kind === 'start') this.fail('"-- +goose Down" before "-- +goose Up"', line);
        if (state.kind === 'block') this.fail(`"-- +goose Down" inside the StatementBegin block opened at line ${state.beginLine}`, line);
        if (state.section === 'down') this.fail(`duplicate "-- +goose Down" annotation (the first is at line ${this.downLine ?? '?'})`, line);
        this.requireNoPending(`before "-- +goose Down" (line ${line})`);
        this.pending = [];
        this.downLine = line;
        this.state = { kind: 'section', section: 'down' };
        return;
      case 'StatementBegin':
        if (state.kind === 'start') this.fail('"-- +goose StatementBegin" before "-- +goose Up"', line);
        if (state.kind === 'block') this.fail(`"-- +goose StatementBegin" inside the block opened at line ${state.beginLine} (blocks do not nest)`, line);
        // Only white space can be pending here; goose keeps it, so the block's leading comments are kept too.
        this.requireNoPending(`before "-- +goose StatementBegin" (line ${line})`);
        this.state = { kind: 'block', section: state.section, beginLine: line };
        return;
      case 'StatementEnd':
        if (state.kind !== 'block') this.fail('"-- +goose StatementEnd" without a "-- +goose StatementBegin" before it', line);
        this.flush(state.section);
        this.state = { kind: 'section', section: state.section };
        return;
      case 'NO TRANSACTION':
        this.useTransaction = false;
        return;
      case 'ENVSUB ON':
        this.envsub = true;
        return;
      case 'ENVSUB OFF':
        this.envsub = false;
        return;
    }
  }

  /** Ends the pending statement and stores it (nothing when it is only white space). */
  private flush(section: Section): void {
    const sql = goTrim(this.pending.map((p) => p.text).join('\n'));
    const first = this.pending.find((p) => GO_NON_SPACE.test(p.text));
    this.pending = [];
    if (sql === '' || first === undefined) return;
    (section === 'up' ? this.up : this.down).push(Object.freeze({ sql, line: first.line }));
  }

  /** Fails when the pending statement has any text: it was never terminated by `;`. */
  private requireNoPending(where: string): void {
    const first = this.pending.find((p) => GO_NON_SPACE.test(p.text));
    if (first === undefined) return;
    this.fail(`the statement starting at this line is not terminated by ";" ${where}`, first.line);
  }

  private substitute(text: string, line: number): string {
    const result = substituteEnv(text, this.env);
    if (!result.ok) this.fail(`ENVSUB: ${result.problem}`, line);
    return result.text;
  }

  private fail(reason: string, line: number): never {
    throw new MigrationSourceError(reason, { file: this.file, line });
  }
}

/**
 * The annotation of a line that looks like one (trimmed, starts with `--`, contains `+goose`), as
 * goose extracts it; `fail` is called with the reason when it is not a valid one.
 */
function readAnnotation(text: string, fail: (reason: string) => never): Annotation {
  if (text.startsWith(' ') || text.startsWith('\t')) {
    fail(`annotation ${JSON.stringify(text)} must start at the beginning of the line (no leading white space)`);
  }
  const withoutMarker = text.replaceAll('--', '').replace('+goose', '');
  if (withoutMarker.includes('+goose')) fail(`annotation ${JSON.stringify(text)} contains "+goose" more than once`);
  const command = goTrim(withoutMarker);
  if (command === '') fail(`empty annotation ${JSON.stringify(text)}`);
  const folded = foldCase(command);
  const known = ANNOTATIONS.find((a) => foldCase(a) === folded);
  if (known === undefined) {
    fail(`unknown annotation ${JSON.stringify(command)} in ${JSON.stringify(text)}; expected one of ${ANNOTATIONS.join(', ')} (any case)`);
  }
  return known;
}

/** Case folding close to Go's `strings.EqualFold` (e.g. `ſ` matches `s`, the Kelvin sign `k`). */
function foldCase(text: string): string {
  return text.toUpperCase().toLowerCase();
}

/** Whether the last word before any word starting with `--` ends with `;` (goose's rule). */
export function endsWithSemicolon(line: string): boolean {
  let last = '';
  for (const [word] of line.matchAll(GO_WORDS)) {
    if (word.startsWith('--')) break;
    last = word;
  }
  return last.endsWith(';');
}

function goTrim(text: string): string {
  return text.replace(GO_TRIM, '');
}

/** Lines as Go's `bufio.ScanLines` yields them: split at `\n`, a trailing `\r` dropped, no empty last line. */
function splitLines(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body === '') return [];
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}
