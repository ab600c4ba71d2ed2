import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { MigrationSourceError } from '../../../src/errors/migration-error.js';
import type { EnvsubEnvironment } from '../../../src/migrate/envsub.js';
import { endsWithSemicolon, parseMigration } from '../../../src/migrate/migration-parser.js';
import type { MigrationStatement, ParsedMigration } from '../../../src/migrate/migration-types.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'migrations', 'parser');
const FILE = '00007_test.sql';

/** The lines joined by `\n`, with a final line break. */
function sql(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function parse(text: string, env: EnvsubEnvironment = {}): ParsedMigration {
  return parseMigration(text, { file: FILE, env });
}

function fixture(name: string, env: EnvsubEnvironment = {}): ParsedMigration {
  return parseMigration(readFileSync(join(FIXTURES, name), 'utf8'), { file: name, env });
}

function texts(statements: readonly MigrationStatement[]): string[] {
  return statements.map((s) => s.sql);
}

function lines(statements: readonly MigrationStatement[]): number[] {
  return statements.map((s) => s.line);
}

/** The error parsing `text` throws; checks it names the file and `line`. */
function failure(text: string, line: number, env: EnvsubEnvironment = {}): MigrationSourceError {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).to.be.instanceOf(MigrationSourceError);
    const sourceError = error as MigrationSourceError;
    expect(sourceError.file).to.equal(FILE);
    expect(sourceError.line, sourceError.message).to.equal(line);
    expect(sourceError.message.startsWith(`${FILE}:${line}: `), sourceError.message).to.equal(true);
    return sourceError;
  }
  return expect.fail(`expected a MigrationSourceError for:\n${text}`);
}

describe('parseMigration', () => {
  describe('fixtures', () => {
    it('parses a schema migration: comments before Up, simple statements, a function block, a Down section', () => {
      const parsed = fixture('alert-schema.sql');
      expect(texts(parsed.up)).to.deep.equal([
        [
          'CREATE TABLE alert (',
          '    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,',
          '    fingerprint text NOT NULL, -- stable per rule and labels',
          '    starts_at   timestamptz NOT NULL',
          '); -- one row per firing',
        ].join('\n'),
        'CREATE INDEX alert_starts_at_idx ON alert (starts_at);',
        [
          'CREATE FUNCTION alert_touch() RETURNS trigger AS $$',
          'BEGIN',
          '    NEW.starts_at := coalesce(NEW.starts_at, now());',
          '    RETURN NEW;',
          'END;',
          '$$ LANGUAGE plpgsql;',
        ].join('\n'),
      ]);
      expect(lines(parsed.up)).to.deep.equal([5, 12, 15]);
      expect(texts(parsed.down)).to.deep.equal(['DROP FUNCTION alert_touch();', 'DROP TABLE alert;']);
      expect(lines(parsed.down)).to.deep.equal([24, 25]);
      expect(parsed.hasDown).to.equal(true);
      expect(parsed.useTransaction).to.equal(true);
    });

    it('reads NO TRANSACTION before Up', () => {
      const parsed = fixture('no-transaction.sql');
      expect(parsed.useTransaction).to.equal(false);
      expect(texts(parsed.up)).to.deep.equal(['CREATE INDEX CONCURRENTLY alert_fingerprint_idx ON alert (fingerprint);']);
      expect(texts(parsed.down)).to.deep.equal(['DROP INDEX CONCURRENTLY alert_fingerprint_idx;']);
    });

    it('substitutes variables between ENVSUB ON and OFF only', () => {
      const parsed = fixture('envsub.sql', { ALERT_READER: 'reporting', NOT_SUBSTITUTED: 'oops' });
      expect(texts(parsed.up)).to.deep.equal([
        'CREATE ROLE reporting;',
        'GRANT SELECT ON alert TO reporting;',
        "CREATE FUNCTION alert_count() RETURNS bigint AS $$\n    SELECT count(*) FROM alert WHERE note <> '${NOT_SUBSTITUTED}';\n$$ LANGUAGE sql;",
      ]);
      expect(texts(parsed.down)).to.deep.equal(['DROP FUNCTION alert_count();', 'DROP ROLE reporting;']);
      expect(texts(fixture('envsub.sql').up).slice(0, 2)).to.deep.equal(['CREATE ROLE alert_reader;', 'GRANT SELECT ON alert TO alert_reader;']);
    });

    it('accepts a file without Down', () => {
      const parsed = fixture('up-only.sql');
      expect(texts(parsed.up)).to.deep.equal(["INSERT INTO setting (name, value) VALUES ('retention', '30 days');"]);
      expect(parsed.down).to.deep.equal([]);
      expect(parsed.hasDown).to.equal(false);
    });
  });

  describe('sections', () => {
    it('allows empty Up and Down sections', () => {
      const parsed = parse(sql('-- +goose Up', '-- +goose Down'));
      expect(parsed).to.deep.equal({ up: [], down: [], hasDown: true, useTransaction: true });
      expect(parse(sql('-- +goose Up')).hasDown).to.equal(false);
    });

    it('allows blank lines and comments before Up', () => {
      const parsed = parse(sql('', '   ', '-- a note', '  -- an indented note', '-- +goose Up', 'SELECT 1;'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;']);
      expect(lines(parsed.up)).to.deep.equal([6]);
    });

    it('reads annotations in any case and with extra spaces', () => {
      const parsed = parse(sql('--   +goose   up  ', 'SELECT 1;', '-- +goose DOWN', 'SELECT 2;', '--+goose no transaction'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;']);
      expect(texts(parsed.down)).to.deep.equal(['SELECT 2;']);
      expect(parsed.useTransaction).to.equal(false);
    });

    it('needs "+goose" in lower case: "-- +GOOSE Down" is a plain comment (as in goose)', () => {
      const parsed = parse(sql('-- +goose Up', 'SELECT 1;', '-- +GOOSE Down', 'SELECT 2;'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;', 'SELECT 2;']);
      expect(parsed.hasDown).to.equal(false);
    });

    it('reads NO TRANSACTION anywhere in the file, even inside a block', () => {
      expect(parse(sql('-- +goose Up', 'SELECT 1;', '-- +goose Down', '-- +goose NO TRANSACTION')).useTransaction).to.equal(false);
      const inBlock = parse(sql('-- +goose Up', '-- +goose StatementBegin', 'SELECT 1;', '-- +goose NO TRANSACTION', 'SELECT 2;', '-- +goose StatementEnd'));
      expect(inBlock.useTransaction).to.equal(false);
      expect(texts(inBlock.up)).to.deep.equal(['SELECT 1;\nSELECT 2;']);
    });

    it('handles CRLF line endings and a byte order mark', () => {
      const parsed = parse('\uFEFF-- +goose Up\r\nSELECT 1;\r\n\r\n-- +goose StatementBegin\r\nSELECT 2;\r\nSELECT 3;\r\n-- +goose StatementEnd\r\n');
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;', 'SELECT 2;\nSELECT 3;']);
      expect(lines(parsed.up)).to.deep.equal([2, 5]);
    });

    it('accepts a last line without a line break', () => {
      expect(texts(parse('-- +goose Up\nSELECT 1;').up)).to.deep.equal(['SELECT 1;']);
    });
  });

  describe('statements', () => {
    it('ends a statement at a line whose last word before a "--" comment ends with ";"', () => {
      const parsed = parse(
        sql(
          '-- +goose Up',
          'SELECT 1,',
          '  2; -- two columns',
          "SELECT 'a;'",
          "  || 'b' -- not the end;",
          '  ;',
          'SELECT 3 /* ; */',
          '  , 4;',
        ),
      );
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1,\n  2; -- two columns', "SELECT 'a;'\n  || 'b' -- not the end;\n  ;", 'SELECT 3 /* ; */\n  , 4;']);
      expect(lines(parsed.up)).to.deep.equal([2, 4, 7]);
    });

    it('splits on a ";" ending a line even inside a string or a dollar quote (use a block there)', () => {
      const parsed = parse(sql('-- +goose Up', "INSERT INTO note VALUES ('first;", "second');"));
      expect(texts(parsed.up)).to.deep.equal(["INSERT INTO note VALUES ('first;", "second');"]);
    });

    it('keeps several statements on one line together', () => {
      expect(texts(parse(sql('-- +goose Up', 'SELECT 1; SELECT 2;')).up)).to.deep.equal(['SELECT 1; SELECT 2;']);
    });

    describe('endsWithSemicolon', () => {
      it('looks at the last word before a word starting with "--"', () => {
        expect(endsWithSemicolon('SELECT 1;')).to.equal(true);
        expect(endsWithSemicolon('SELECT 1;   ')).to.equal(true);
        expect(endsWithSemicolon('SELECT 1;\t-- done')).to.equal(true);
        expect(endsWithSemicolon('SELECT 1; --done;')).to.equal(true);
        expect(endsWithSemicolon('SELECT 1 -- ;')).to.equal(false);
        expect(endsWithSemicolon('SELECT 1;-- glued comment')).to.equal(false);
        expect(endsWithSemicolon("SELECT '--';")).to.equal(true);
        expect(endsWithSemicolon('-- comment;')).to.equal(false);
        expect(endsWithSemicolon('')).to.equal(false);
        expect(endsWithSemicolon(';')).to.equal(true);
      });
    });

    it('drops comments and empty lines before a statement, keeps them inside it', () => {
      const parsed = parse(sql('-- +goose Up', '', '-- about the next one', '', 'SELECT 1', '-- inside', '', '  , 2;'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1\n-- inside\n\n  , 2;']);
      expect(lines(parsed.up)).to.deep.equal([5]);
    });

    it('starts a statement at a whitespace-only line, so the comments after it are kept (as goose does)', () => {
      const parsed = parse(sql('-- +goose Up', 'SELECT 1;', '   ', '-- kept', 'SELECT 2;'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;', '-- kept\nSELECT 2;']);
      expect(lines(parsed.up)).to.deep.equal([2, 4]);
    });

    it('trims the statement text and records the line where the text begins', () => {
      const parsed = parse(sql('-- +goose Up', '\t', '    SELECT 1;   '));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;']);
      expect(lines(parsed.up)).to.deep.equal([3]);
    });

    it('ignores white space left at the end of a section or of the file', () => {
      const parsed = parse(sql('-- +goose Up', 'SELECT 1;', '  ', '-- +goose Down', 'SELECT 2;', ' \t '));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;']);
      expect(texts(parsed.down)).to.deep.equal(['SELECT 2;']);
    });
  });

  describe('StatementBegin / StatementEnd', () => {
    it('makes one statement of a block, whatever ";" it holds, in either section', () => {
      const parsed = parse(
        sql(
          '-- +goose Up',
          '-- +goose StatementBegin',
          '-- leading comment, dropped',
          'DO $$',
          'BEGIN',
          '  PERFORM 1;',
          'END',
          '$$;',
          'SELECT 2;',
          '-- +goose StatementEnd',
          'SELECT 3;',
          '-- +goose Down',
          '-- +goose StatementBegin',
          'SELECT 4; SELECT 5;',
          '-- +goose StatementEnd',
        ),
      );
      expect(texts(parsed.up)).to.deep.equal(['DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$;\nSELECT 2;', 'SELECT 3;']);
      expect(lines(parsed.up)).to.deep.equal([4, 11]);
      expect(texts(parsed.down)).to.deep.equal(['SELECT 4; SELECT 5;']);
      expect(lines(parsed.down)).to.deep.equal([14]);
    });

    it('does not need a ";" at the end of a block', () => {
      expect(texts(parse(sql('-- +goose Up', '-- +goose StatementBegin', 'SELECT 1', '-- +goose StatementEnd')).up)).to.deep.equal(['SELECT 1']);
    });

    it('yields no statement for a block with only comments and blank lines', () => {
      const parsed = parse(sql('-- +goose Up', '-- +goose StatementBegin', '-- nothing', '', '-- +goose StatementEnd', 'SELECT 1;'));
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;']);
    });

    it('lets several blocks follow one another', () => {
      const parsed = parse(
        sql('-- +goose Up', '-- +goose StatementBegin', 'SELECT 1;', '-- +goose StatementEnd', '-- +goose StatementBegin', 'SELECT 2;', '-- +goose StatementEnd'),
      );
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;', 'SELECT 2;']);
      expect(lines(parsed.up)).to.deep.equal([3, 6]);
    });

    it('keeps the leading comments of a block that follows a whitespace-only line (as goose does)', () => {
      const parsed = parse(sql('-- +goose Up', '  ', '-- +goose StatementBegin', '-- kept', 'SELECT 1;', '-- +goose StatementEnd'));
      expect(texts(parsed.up)).to.deep.equal(['-- kept\nSELECT 1;']);
      expect(lines(parsed.up)).to.deep.equal([4]);
    });
  });

  describe('ENVSUB', () => {
    const env = { TABLE: 'alert', SEP: ';', EMPTY: '' };

    it('substitutes lines after ON until OFF, in simple statements and blocks', () => {
      const parsed = parse(
        sql(
          '-- +goose Up',
          'SELECT "$TABLE";',
          '-- +goose ENVSUB ON',
          'SELECT "$TABLE", "${MISSING:-fallback}", \\$ok;',
          '-- +goose StatementBegin',
          'SELECT ${TABLE};',
          '-- +goose StatementEnd',
          '-- +goose ENVSUB OFF',
          'SELECT "$TABLE";',
        ),
        env,
      );
      expect(texts(parsed.up)).to.deep.equal(['SELECT "$TABLE";', 'SELECT "alert", "fallback", $ok;', 'SELECT alert;', 'SELECT "$TABLE";']);
      expect(lines(parsed.up)).to.deep.equal([2, 4, 6, 9]);
    });

    it('substitutes comments inside a statement but not the comments dropped before it', () => {
      const parsed = parse(sql('-- +goose Up', '-- +goose ENVSUB ON', '-- costs $1, dropped', 'SELECT 1', '-- $TABLE', ';'), env);
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1\n-- alert\n;']);
    });

    it('tests for the ending ";" after substitution, as goose does', () => {
      const parsed = parse(sql('-- +goose Up', '-- +goose ENVSUB ON', 'SELECT 1$SEP', 'SELECT 2;'), env);
      expect(texts(parsed.up)).to.deep.equal(['SELECT 1;', 'SELECT 2;']);
      expect(lines(parsed.up)).to.deep.equal([3, 4]);
    });

    it('reports a missing required variable with its line', () => {
      const error = failure(sql('-- +goose Up', '-- +goose ENVSUB ON', 'SELECT 1;', 'GRANT SELECT ON alert TO ${READER?set READER};'), 4, env);
      expect(error.message).to.equal(`${FILE}:4: ENVSUB: $READER: set READER`);
    });

    it('reports a syntax error with its line, in the Down section too', () => {
      const error = failure(sql('-- +goose Up', '-- +goose ENVSUB ON', '-- +goose Down', 'DELETE FROM alert', 'WHERE id = $1;'), 5, env);
      expect(error.message).to.contain('ENVSUB: "$" at column 12 must be followed by a variable name');
    });
  });

  describe('errors', () => {
    it('an empty file or one without Up', () => {
      expect(failure('', 1).message).to.contain('no "-- +goose Up" annotation');
      failure(sql('-- just a comment', ''), 1);
      failure(sql('-- +goose NO TRANSACTION'), 1);
    });

    it('SQL before Up', () => {
      expect(failure(sql('-- intro', 'SELECT 1;', '-- +goose Up'), 2).message).to.contain('SQL before the "-- +goose Up" annotation');
    });

    it('a second Up', () => {
      expect(failure(sql('-- +goose Up', 'SELECT 1;', '-- +goose Up'), 3).message).to.contain('duplicate "-- +goose Up" annotation (the first is at line 1)');
      failure(sql('-- +goose Up', '-- +goose Down', '-- +goose Up'), 3);
    });

    it('Down before Up, a second Down, Down inside a block', () => {
      expect(failure(sql('-- +goose Down', '-- +goose Up'), 1).message).to.contain('"-- +goose Down" before "-- +goose Up"');
      expect(failure(sql('-- +goose Up', '-- +goose Down', '-- +goose Down'), 3).message).to.contain('duplicate "-- +goose Down" annotation (the first is at line 2)');
      const error = failure(sql('-- +goose Up', '-- +goose StatementBegin', 'SELECT 1;', '-- +goose Down'), 4);
      expect(error.message).to.contain('inside the StatementBegin block opened at line 2');
    });

    it('StatementBegin before Up or inside another block', () => {
      expect(failure(sql('-- +goose StatementBegin', '-- +goose Up'), 1).message).to.contain('"-- +goose StatementBegin" before "-- +goose Up"');
      const error = failure(sql('-- +goose Up', '-- +goose StatementBegin', '-- +goose StatementBegin'), 3);
      expect(error.message).to.contain('inside the block opened at line 2 (blocks do not nest)');
    });

    it('StatementEnd without StatementBegin', () => {
      expect(failure(sql('-- +goose Up', 'SELECT 1;', '-- +goose StatementEnd'), 3).message).to.contain(
        '"-- +goose StatementEnd" without a "-- +goose StatementBegin" before it',
      );
      failure(sql('-- +goose StatementEnd'), 1);
      failure(sql('-- +goose Up', '-- +goose StatementBegin', '-- +goose StatementEnd', '-- +goose StatementEnd'), 4);
    });

    it('the end of the file inside a block, reported at its StatementBegin', () => {
      const error = failure(sql('-- +goose Up', 'SELECT 1;', '-- +goose StatementBegin', 'SELECT 2;'), 3);
      expect(error.message).to.contain('never closed by "-- +goose StatementEnd" (the file ends first)');
    });

    it('an unterminated statement at the end of the Up section, reported where it starts', () => {
      const error = failure(sql('-- +goose Up', 'SELECT 1;', '-- next', 'SELECT 2', '  + 3', '-- +goose Down', 'SELECT 4;'), 4);
      expect(error.message).to.contain('the statement starting at this line is not terminated by ";" before "-- +goose Down" (line 6)');
    });

    it('an unterminated statement at the end of the file', () => {
      expect(failure(sql('-- +goose Up', 'SELECT 1;', '-- +goose Down', 'SELECT 2'), 4).message).to.contain('not terminated by ";" at the end of the file');
      failure(sql('-- +goose Up', 'SELECT 1 -- ;'), 2);
    });

    it('an unterminated statement before a block (goose would glue it onto the block)', () => {
      const error = failure(sql('-- +goose Up', 'CREATE TABLE a (id int)', '-- +goose StatementBegin', 'SELECT 1;', '-- +goose StatementEnd'), 2);
      expect(error.message).to.contain('not terminated by ";" before "-- +goose StatementBegin" (line 3)');
    });

    it('an unknown or empty annotation, even in a comment inside a statement', () => {
      expect(failure(sql('-- +goose Up', '-- +goose Sideways'), 2).message).to.contain('unknown annotation "Sideways"');
      expect(failure(sql('-- +goose'), 1).message).to.contain('empty annotation');
      failure(sql('-- +goose Up', 'SELECT 1', '-- see +goose docs', ';'), 3);
      failure(sql('-- +goose Up', '-- +goose Up -- first section'), 2);
      failure(sql('-- +goose Up', '-- +goose StatementBeginning'), 2);
    });

    it('an annotation with two "+goose" or with leading white space', () => {
      expect(failure(sql('-- +goose Up +goose'), 1).message).to.contain('contains "+goose" more than once');
      expect(failure(sql('  -- +goose Up'), 1).message).to.contain('must start at the beginning of the line');
      failure(sql('-- +goose Up', '\t-- +goose StatementBegin'), 2);
    });
  });
});
