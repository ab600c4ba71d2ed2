/** Helpers of the CLI suites: run `runCli` in-process with captured streams, write migration directories. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/run-cli.js';

/** What one command line produced. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `alert-history-db <argv…>` in this process with `env` (nothing else of `process.env`) and captures its output. */
export async function cli(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, cwd?: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    ...(cwd === undefined ? {} : { cwd }),
  });
  return { code, stdout, stderr };
}

/** A temporary directory holding `files` (name → content); `remove()` deletes it. */
export interface TempDir {
  readonly path: string;
  write(name: string, content: string): Promise<void>;
  remove(): Promise<void>;
}

export async function tempDir(files: Readonly<Record<string, string>> = {}): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'alert-history-db-cli-'));
  const dir: TempDir = {
    path,
    write: (name, content) => writeFile(join(path, name), content),
    remove: () => rm(path, { recursive: true, force: true }),
  };
  for (const [name, content] of Object.entries(files)) await dir.write(name, content);
  return dir;
}

/** A migration file's text: the Up and Down statements, each ending with `;`. */
export function migration(up: string, down: string, header = ''): string {
  return `${header}-- +goose Up\n${up}\n\n-- +goose Down\n${down}\n`;
}
