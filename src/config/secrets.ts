import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../errors/config-error.js';
import type { ConfigSources, FieldSources } from './config-sources.js';
import { PASSWORD_SOURCES } from './field-sources.js';
import { describeFileError, fileErrorReason } from './file-access.js';
import { quotePath } from './quote.js';

/** The password chosen from the explicit option, the URL and the environment (`~/.pgpass` comes later). */
export interface PasswordChoice {
  /** A source gave a password (or an error, or an explicit empty string): look no further. */
  readonly decided: boolean;
  readonly password: string | undefined;
}

/** The explicit password option alone: the URL's password is not to be used. */
const EXPLICIT_PASSWORD_SOURCES: FieldSources = Object.freeze({ explicit: PASSWORD_SOURCES.explicit });

/** Pairs of (variable, file variable), in priority order. */
const ENV_PAIRS: readonly (readonly [string, string])[] = [
  ['PGPASSWORD', 'PGPASSWORD_FILE'],
  ['DB_PASSWORD', 'DB_PASSWORD_FILE'],
];

/**
 * Chooses the password: the explicit `password` option (an empty string meaning "no password"),
 * the URL's (unless `skipUrl`: the connection goes to another server than the URL's), then
 * `PGPASSWORD` or the contents of the file named by `PGPASSWORD_FILE`, then `DB_PASSWORD` or
 * `DB_PASSWORD_FILE`. A file's trailing line breaks are removed. Setting both a
 * variable and its `_FILE` twin, or naming an unreadable or empty file, is a problem (recorded in
 * `problems`, which never contain the password) and stops the search, so that a lower source is
 * never used by surprise.
 */
export function choosePassword(sources: ConfigSources, problems: ConfigProblem[], skipUrl = false): PasswordChoice {
  const given = sources.first(skipUrl ? EXPLICIT_PASSWORD_SOURCES : PASSWORD_SOURCES);
  if (given !== undefined) return { decided: true, password: given.value === '' ? undefined : String(given.value) };
  for (const [variable, fileVariable] of ENV_PAIRS) {
    const value = sources.env(variable);
    const file = sources.env(fileVariable);
    if (value !== undefined && file !== undefined) {
      problems.push({ field: fileVariable, message: `${variable} and ${fileVariable} are both set; set only one of them` });
      return { decided: true, password: undefined };
    }
    if (value !== undefined) return { decided: true, password: value };
    if (file !== undefined) return { decided: true, password: readSecretFile(fileVariable, file, problems) };
  }
  return { decided: false, password: undefined };
}

/**
 * How a secret file's path may be shown in a problem. A value with no path separator is more
 * likely a password typed into `*_FILE` by mistake than a file name: it is never echoed.
 */
function shownSecretPath(path: string): string | undefined {
  return /[/\\]/.test(path) ? path : undefined;
}

function readSecretFile(field: string, path: string, problems: ConfigProblem[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const shown = shownSecretPath(path);
    problems.push({
      field,
      message:
        shown === undefined
          ? `the named file ${fileErrorReason(error)} (the value is not shown: it has no "/" and may be a password put here by mistake)`
          : describeFileError(shown, error),
    });
    return undefined;
  }
  const secret = text.replace(/[\r\n]+$/, '');
  if (secret === '') problems.push({ field, message: `file ${quotePath(path)} is empty` });
  return secret === '' ? undefined : secret;
}
