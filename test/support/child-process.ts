/** Running this repository's entry points as child processes, as a user runs them. */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a finished process did. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Variables that point a process at a database (libpq's, ours, goose's): never inherited by a child. */
const CONNECTION_VARIABLES = /^(PG|DB_|GOOSE_|DATABASE_URL$|TEST_DATABASE_URL$|LOG_)/;

/**
 * This process's environment without any connection setting (nor those `alsoDrop` matches), plus
 * `extra`. `NODE_V8_COVERAGE: ''` keeps c8 out of the child (Node passes the variable on unless it
 * is set): the child's coverage of the same sources, loaded through its own tsx, merges into wrong
 * line counts.
 */
export function cleanEnv(extra: Record<string, string>, alsoDrop?: RegExp): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !CONNECTION_VARIABLES.test(name) && !(alsoDrop?.test(name) ?? false));
  return { ...Object.fromEntries(kept), NODE_V8_COVERAGE: '', ...extra };
}

/** Runs `node --import tsx <script> <args…>` from the repository root; resolves with its exit code and output. */
export function runTsx(script: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: REPOSITORY_ROOT, env, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(new Error(`${script} did not exit normally: ${error.message}\n${stdout}\n${stderr}`));
        else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}
