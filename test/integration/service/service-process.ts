/** `npm start` as a child process: `node --import tsx src/service/main.ts`, from the repository root. */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { cleanEnv as cleanChildEnv, REPOSITORY_ROOT as ROOT } from '../../support/child-process.js';

/** This process's environment without any database or service setting, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return cleanChildEnv(extra, /^(HOST|PORT|DATA_DIR|MIGRATE_ON_START|BODY_LIMIT_BYTES)$/);
}

/** How the process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The running service process. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Resolves to the URL it listens on (from its start-up line); rejects when it exits first. */
  readonly url: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Whether the process is still running. */
  running(): boolean;
}

/** Starts the service in a child process with `env`. */
export function startServiceProcess(env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'service', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    void exited.then((ended) => reject(new Error(`the service exited (${ended.code ?? ended.signal}) before listening:\n${stdout}\n${stderr}`)));
  });
  url.catch(() => undefined);
  return { child, url, exited, stdout: () => stdout, stderr: () => stderr, running: () => exit === undefined };
}

/** Stops a process the test left running: SIGTERM, then SIGTERM again (exit at once) when it does not stop. */
export async function stopServiceProcess(service: ServiceProcess | undefined): Promise<void> {
  if (service === undefined || !service.running()) return;
  service.child.kill('SIGTERM');
  const stopped = await Promise.race([service.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000))]);
  if (!stopped) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

/** An HTTP answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request on a connection of its own (no keep-alive agent). */
export function http(url: string, options: { readonly method?: string; readonly body?: string; readonly headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** `POST url/webhook` with a JSON body. */
export function postWebhook(url: string, body: unknown): Promise<HttpAnswer> {
  return http(`${url}/webhook`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}
