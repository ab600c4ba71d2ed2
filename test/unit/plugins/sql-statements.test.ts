import { expect } from 'chai';
import { hasMultipleStatements } from '../../../src/plugins/sql-statements.js';

/** Texts that hold one statement (possibly with a trailing `;`). */
const SINGLE_STATEMENTS: readonly string[] = [
  '',
  'select 1',
  'select 1;',
  'select 1 ;  \n\t ',
  'select 1;;',
  'select 1; ;\n;',
  'select 1; -- done',
  'select 1; /* done */',
  'select 1; /* nested /* comment; select 2 */ still; */',
  "select ';' as semicolon",
  "select 'it''s; fine' as text",
  "select E'it\\'s; fine' as text",
  "select e'back\\\\'; -- a trailing comment",
  "select U&'d\\0061t\\+000061; x' as text",
  'select 1 as ";"',
  'select 1 as "say ""hi""; bye"',
  'select $$a;b$$ as text',
  'select $tag$ it has $$; and ; $tag$ as text',
  'select $_t1$;$_t1$ as text',
  'select $1::int as n',
  'select $1::text || $2::text as t',
  'select 1 -- comment; select 2\n',
  'select 1 /* ; select 2 */',
  'select 1 as a$b',
  'select 1 as "x"; -- comment only\n/* and a block */ ;',
  'with w as (select 1 as x) select x from w;',
];

/** Texts that hold several statements. */
const MULTIPLE_STATEMENTS: readonly string[] = [
  'select 1; select 2',
  'select 1;select 2;',
  'select 1;\n\nselect 2',
  "select ';'; select 2",
  "select E'\\'';select 2",
  'select 1; -- comment\nselect 2',
  'select 1; /* comment */ select 2',
  'select $$;$$; select 2',
  'select "a;b"; select 2',
  'select 1; (select 2)',
  "select 1; 'x'",
  'select 1; $$x$$',
  'begin; select 1; commit',
];

describe('plugins: hasMultipleStatements', () => {
  for (const text of SINGLE_STATEMENTS) {
    it(`one statement: ${JSON.stringify(text)}`, () => {
      expect(hasMultipleStatements(text)).to.equal(false);
    });
  }

  for (const text of MULTIPLE_STATEMENTS) {
    it(`several statements: ${JSON.stringify(text)}`, () => {
      expect(hasMultipleStatements(text)).to.equal(true);
    });
  }

  it('treats a backslash in a standard string as an ordinary character', () => {
    // standard_conforming_strings = on: 'a\' is a whole literal, so the ';' after it separates statements
    expect(hasMultipleStatements("select 'a\\'; select 2")).to.equal(true);
    expect(hasMultipleStatements("select 'a\\' as x;")).to.equal(false);
  });

  it('tells an E string from a word ending in e', () => {
    // `somee'…'` is no E string: its backslash escapes nothing, so the string ends at the second quote
    expect(hasMultipleStatements("select somee'\\'; select 2")).to.equal(true);
    expect(hasMultipleStatements("select E'\\'; still the string'")).to.equal(false);
  });

  it('does not take a parameter or a word with a dollar for a dollar quote', () => {
    expect(hasMultipleStatements('select $1; select $2')).to.equal(true);
    expect(hasMultipleStatements('select a$b$c; select 2')).to.equal(true);
    expect(hasMultipleStatements('select $1 as x;')).to.equal(false);
  });

  it('runs unterminated quotes and comments to the end of the text', () => {
    expect(hasMultipleStatements("select '; select 2")).to.equal(false);
    expect(hasMultipleStatements('select "; select 2')).to.equal(false);
    expect(hasMultipleStatements('select $$; select 2')).to.equal(false);
    expect(hasMultipleStatements('select 1 /* ; select 2')).to.equal(false);
    expect(hasMultipleStatements('select 1 /* /* */ ; select 2')).to.equal(false);
  });

  it('scans long texts in one pass', () => {
    const long = `select ${Array.from({ length: 10_000 }, (_, i) => `'v${i};'`).join(', ')};`;
    expect(hasMultipleStatements(long)).to.equal(false);
    expect(hasMultipleStatements(`${long} select 1`)).to.equal(true);
  });
});
