/**
 * Wiring for the chaos tests (not a test file itself): a private embedded PostgreSQL with a fault
 * proxy in front of it. Chaos tests never touch a shared server: each starts its own.
 */
import pg from 'pg';
import type { PostgresConfigInput } from '../../../src/config/postgres-config.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** Options of {@link startChaosServer}. */
export interface ChaosServerOptions {
  /** Extra `postgres` command-line flags, e.g. `['-c', 'max_connections=20']`. */
  readonly postgresFlags?: readonly string[];
}

/** A private PostgreSQL server and the fault proxy clients reach it through. */
export interface ChaosServer {
  /** The server itself (halt it and resume it to simulate a restart). */
  readonly server: EmbeddedServer;
  /** The proxy in front of the server, to inject network faults. */
  readonly proxy: FaultProxy;
  /**
   * Settings to reach the server through the proxy: its host and port, the server's user and
   * password, database `postgres`, `sslMode: 'disable'`; `overrides` win.
   */
  configInput(overrides?: PostgresConfigInput): PostgresConfigInput;
  /** Runs `work` on a fresh client connected straight to the server (not through the proxy), closed afterwards. */
  admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T>;
  /**
   * Terminates every backend with this `application_name` (except the admin session doing it),
   * waiting for each to exit; resolves to how many were terminated.
   */
  terminateBackends(applicationName: string): Promise<number>;
  /** Closes the proxy, then stops the server and deletes its files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Settings to reach an embedded server directly (no proxy): its host, port, user and password,
 * database `postgres`, `sslMode: 'disable'`; `overrides` win.
 */
export function directConfigInput(server: EmbeddedServer, overrides: PostgresConfigInput = {}): PostgresConfigInput {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'postgres',
    sslMode: 'disable',
    ...overrides,
  };
}

/** `application_name` of the sessions {@link ChaosServer.admin} opens. */
export const CHAOS_ADMIN_APPLICATION_NAME = 'chaos-kit-admin';

/** How long `terminateBackends` waits for each backend to exit, in milliseconds. */
const TERMINATE_WAIT_MS = 10_000;

/** Starts a private embedded PostgreSQL and a fault proxy (in `pass` mode) in front of it. */
export async function startChaosServer(options: ChaosServerOptions = {}): Promise<ChaosServer> {
  const server = await startEmbeddedPostgres(options.postgresFlags ? { postgresFlags: options.postgresFlags } : {});
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy({ targetHost: server.host, targetPort: server.port });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return new ProxiedChaosServer(server, proxy);
}

class ProxiedChaosServer implements ChaosServer {
  readonly server: EmbeddedServer;
  readonly proxy: FaultProxy;
  #stopping: Promise<void> | undefined;

  constructor(server: EmbeddedServer, proxy: FaultProxy) {
    this.server = server;
    this.proxy = proxy;
  }

  configInput(overrides: PostgresConfigInput = {}): PostgresConfigInput {
    return {
      host: this.proxy.host,
      port: this.proxy.port,
      user: this.server.user,
      password: this.server.password,
      database: 'postgres',
      sslMode: 'disable',
      ...overrides,
    };
  }

  async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({
      host: this.server.host,
      port: this.server.port,
      user: this.server.user,
      password: this.server.password,
      database: 'postgres',
      application_name: CHAOS_ADMIN_APPLICATION_NAME,
    });
    // A halt or a terminated session must fail `work`, not crash the process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  terminateBackends(applicationName: string): Promise<number> {
    return this.admin(async (client) => {
      const { rows } = await client.query<{ terminated: number }>(
        `select count(*) filter (where pg_terminate_backend(pid, $2)) :: int as terminated
           from pg_stat_activity
          where application_name = $1 and pid <> pg_backend_pid()`,
        [applicationName, TERMINATE_WAIT_MS],
      );
      return rows[0]?.terminated ?? 0;
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.proxy.close();
      } finally {
        await this.server.stop();
      }
    })();
    return this.#stopping;
  }

  toString(): string {
    return `ChaosServer(${this.proxy.host}:${this.proxy.port} -> ${String(this.server)})`;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long, in milliseconds (generous: it waits for a state, it never asserts speed). Default 20 s. */
  readonly timeoutMs?: number;
  /** Pause between two checks, in milliseconds. Default 20. */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout's error message. */
  readonly description?: string;
}

/** Polls `predicate` until it holds; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, options: WaitForOptions = {}): Promise<void> {
  const { timeoutMs = 20_000, intervalMs = 20, description = 'a condition' } = options;
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(intervalMs);
  }
}
