import { expect } from 'chai';
import { substituteEnv, type EnvsubEnvironment } from '../../../src/migrate/envsub.js';

const ENV: EnvsubEnvironment = { NAME: 'alerts', EMPTY: '', SCHEMA: 'history', ÉTAT: 'prêt', ACCENT: 'été', UNSET_BY_UNDEFINED: undefined };

function expanded(text: string, env: EnvsubEnvironment = ENV): string {
  const result = substituteEnv(text, env);
  if (!result.ok) expect.fail(`expected ${JSON.stringify(text)} to expand, got: ${result.problem}`);
  return result.text;
}

function problem(text: string, env: EnvsubEnvironment = ENV): string {
  const result = substituteEnv(text, env);
  if (result.ok) expect.fail(`expected ${JSON.stringify(text)} to be rejected, got ${JSON.stringify(result.text)}`);
  return result.problem;
}

describe('substituteEnv', () => {
  it('leaves text without "$" alone', () => {
    expect(expanded('')).to.equal('');
    expect(expanded("SELECT 'a' || 'b'; -- {braces} and \\backslashes\\")).to.equal("SELECT 'a' || 'b'; -- {braces} and \\backslashes\\");
  });

  it('expands $NAME and ${NAME}; an unset variable is an empty string', () => {
    expect(expanded('CREATE SCHEMA $SCHEMA;')).to.equal('CREATE SCHEMA history;');
    expect(expanded('${SCHEMA}.${NAME}')).to.equal('history.alerts');
    expect(expanded('[$MISSING][${MISSING}]')).to.equal('[][]');
    expect(expanded('[$UNSET_BY_UNDEFINED]')).to.equal('[]');
  });

  it('reads a name as a letter followed by letters, digits and "_" (Unicode ones too)', () => {
    expect(expanded('$NAME.id')).to.equal('alerts.id');
    expect(expanded('$NAME_2x')).to.equal('');
    expect(expanded('${NAME}_2x')).to.equal('alerts_2x');
    expect(expanded('$ÉTAT!')).to.equal('prêt!');
  });

  it('looks variables up only as own entries of the environment', () => {
    expect(expanded('[$constructor][${toString}]', {})).to.equal('[][]');
  });

  it('${NAME:-word} uses the word when the variable is unset or empty', () => {
    expect(expanded('${NAME:-fallback}')).to.equal('alerts');
    expect(expanded('${EMPTY:-fallback}')).to.equal('fallback');
    expect(expanded('${MISSING:-fallback}')).to.equal('fallback');
    expect(expanded('${MISSING:-}')).to.equal('');
  });

  it('${NAME-word} uses the word only when the variable is unset', () => {
    expect(expanded('${NAME-fallback}')).to.equal('alerts');
    expect(expanded('[${EMPTY-fallback}]')).to.equal('[]');
    expect(expanded('${MISSING-fallback}')).to.equal('fallback');
  });

  it('expands variables inside a word, which ends at the first "}" not part of one', () => {
    expect(expanded('${MISSING:-$SCHEMA.${NAME}}')).to.equal('history.alerts');
    expect(expanded('${MISSING:-${ALSO_MISSING:-deep}}')).to.equal('deep');
    expect(expanded('${MISSING:-a}b}')).to.equal('ab}');
  });

  it('${NAME?message} fails with "$NAME: message" when unset; an empty value is a value', () => {
    expect(expanded('${NAME?needed}')).to.equal('alerts');
    expect(expanded('[${EMPTY?needed}]')).to.equal('[]');
    expect(problem('GRANT x TO ${READER?set READER to the reporting role};')).to.equal('$READER: set READER to the reporting role');
    expect(problem('${READER?}')).to.equal('$READER: not set');
    expect(problem('${READER?for $SCHEMA}')).to.equal('$READER: for history');
  });

  it('does not evaluate a word that is not used', () => {
    expect(expanded('${NAME:-${MISSING?never evaluated}}')).to.equal('alerts');
  });

  it('reads \\$ and $$ as a literal "$", keeps \\\\ as is, and escapes nothing else', () => {
    expect(expanded('\\$NAME costs $$5')).to.equal('$NAME costs $5');
    expect(expanded('$$NAME')).to.equal('$NAME');
    expect(expanded('\\\\$NAME')).to.equal('\\\\alerts');
    expect(expanded('\\n \\x \\')).to.equal('\\n \\x \\');
  });

  it('keeps "$(" and a "$" that ends the line', () => {
    expect(expanded('echo $(date)')).to.equal('echo $(date)');
    expect(expanded('price in $')).to.equal('price in $');
  });

  it('turns a $$ quote into "$", as goose does (keep function bodies outside ENVSUB)', () => {
    expect(expanded('AS $$ SELECT 1 $$')).to.equal('AS $ SELECT 1 $');
  });

  it('rejects a "$" followed by something that is not a name or "{", with its column', () => {
    for (const text of ['SELECT $1', 'a $ b', '$_PRIVATE', "'$'", '${1}', '${ NAME}', '${']) {
      expect(problem(text), text).to.match(/^"\$\{?" at column \d+ must be followed by a variable name/);
    }
    expect(problem('SELECT $1')).to.contain('column 8');
    expect(problem('SELECT $1')).to.contain('"$$" or "\\$" for a literal "$"');
  });

  it('rejects ${NAME:?message}, which goose does not support', () => {
    expect(problem('${NAME:?needed}')).to.equal('"${NAME:?" at column 1 is not supported (goose does not support it either); use "${NAME?message}"');
  });

  it('rejects an unknown operator and an unclosed "${"', () => {
    expect(problem('x ${NAME!}')).to.equal('"${NAME" at column 3: expected "}", ":-", "-", "?" or ":" after the name, found "!"');
    expect(problem('${NAME')).to.contain('found the end of the line');
    expect(problem('${NAME:-word')).to.equal('"${NAME" at column 1 is not closed by "}"');
    expect(problem('${NAME?message')).to.equal('"${NAME" at column 1 is not closed by "}"');
  });

  it('parses the whole line before expanding: a syntax error wins over a missing variable', () => {
    expect(problem('${READER?missing} $1')).to.match(/^"\$" at column 19/);
  });

  it('${NAME:offset} and ${NAME:offset:length} slice the value as bash does', () => {
    expect(expanded('${NAME:2}')).to.equal('erts');
    expect(expanded('${NAME:1:3}')).to.equal('ler');
    expect(expanded('${NAME: -2}')).to.equal('ts');
    expect(expanded('${NAME:1:-2}')).to.equal('ler');
    expect(expanded('${NAME:99}|${NAME:-99}|${NAME:2:99}|${NAME:4:-5}')).to.equal('|alerts|erts|');
    expect(expanded('[${MISSING:1}]')).to.equal('[]');
    expect(problem('${NAME:x}')).to.equal('"${NAME" at column 1: the substring offset "x" is not an integer');
    expect(problem('${NAME:1:y}')).to.equal('"${NAME" at column 1: the substring length "y" is not an integer');
  });

  it('counts substring positions in UTF-8 bytes, as goose does', () => {
    expect(expanded('${ACCENT:2}')).to.equal('té');
    expect(expanded('${ACCENT:0:2}')).to.equal('é');
    expect(expanded('${ACCENT:-3}')).to.equal('été');
    expect(expanded('${ACCENT: -3}')).to.equal('té');
  });
});
