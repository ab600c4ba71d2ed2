import { accessSync, constants, statSync } from 'node:fs';
import { quotePath } from './quote.js';

/** The `code` of a Node.js system error (`ENOENT`…), if it has one. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** A short, human description of why a file cannot be used. */
/** Why reading a file failed, in words (no path). */
export function fileErrorReason(error: unknown): string {
  const code = errorCode(error);
  return code === 'ENOENT'
    ? 'does not exist'
    : code === 'EACCES' || code === 'EPERM'
      ? 'cannot be read (permission denied)'
      : code === 'EISDIR'
        ? 'is a directory, not a file'
        : `cannot be read (${code ?? (error instanceof Error ? error.message : 'unknown error')})`;
}

/** `file "<path>" <why reading it failed>`. */
export function describeFileError(path: string, error: unknown): string {
  return `file ${quotePath(path)} ${fileErrorReason(error)}`;
}

/** Why the file at `path` cannot be read, or `undefined` when it is a readable plain file. */
export function unreadableFileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `file ${quotePath(path)} is not a plain file`;
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return describeFileError(path, error);
  }
}

/** Whether a plain file exists at `path`. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
