/** Helpers shared by the pool's integration tests (not a test file itself). */
import pg from 'pg';
import type { Logger } from '../../../src/observability/logger.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` until it holds; fails with `description` after `timeoutMs` (generous: this
 * waits for a state, it never asserts how fast the state is reached).
 */
export async function waitFor(
  description: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${description}`);
    await sleep(intervalMs);
  }
}

/** One captured log line. */
export interface LogEntry {
  readonly level: keyof Logger;
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

/** A logger that keeps every line, for assertions. */
export class CapturingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  error(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'error', message, meta });
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, meta });
  }
  info(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'info', message, meta });
  }
  debug(message: string, meta?: Record<string, unknown>): void {
    this.entries.push({ level: 'debug', message, meta });
  }
  /** Lines at `level` whose message contains `text`. */
  find(level: keyof Logger, text: string): LogEntry[] {
    return this.entries.filter((entry) => entry.level === level && entry.message.includes(text));
  }
}

/** A connection of its own to the test database, outside any pool: to watch and kill the pool's sessions. */
export class Admin {
  readonly #client: pg.Client;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async connect(db: TestDatabase): Promise<Admin> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    return new Admin(client);
  }

  /** Backend pids of the sessions with this `application_name` in the current database. */
  async sessions(applicationName: string): Promise<number[]> {
    const { rows } = await this.#client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and application_name = $1 order by pid',
      [applicationName],
    );
    return rows.map((row) => row.pid);
  }

  /** The text of the statements of the sessions with this `application_name` in the current database. */
  async queries(applicationName: string): Promise<string[]> {
    const { rows } = await this.#client.query<{ query: string }>(
      'select query from pg_stat_activity where datname = current_database() and application_name = $1 order by pid',
      [applicationName],
    );
    return rows.map((row) => row.query);
  }

  /** `pg_terminate_backend(pid)`; resolves to whether the server signalled it. */
  async terminate(pid: number): Promise<boolean> {
    const { rows } = await this.#client.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [pid]);
    return rows[0]?.ok === true;
  }

  async end(): Promise<void> {
    await this.#client.end();
  }
}

/** What {@link poolSuite} gives a suite: its database, its admin connection, and pools to close. */
export interface PoolSuite {
  /** The suite's own database (set in the suite's `before`). */
  readonly db: TestDatabase;
  /** A plain connection to that database for inspecting the server (only with `{ admin: true }`). */
  readonly admin: Admin;
  /** Pools pushed here are closed after each test. */
  readonly pools: InstrumentedPool[];
}

/**
 * Registers a pool suite's hooks: an isolated database (dropped after the suite), optionally an
 * admin connection, and closing every pool in `pools` after each test.
 */
export function poolSuite(label: string, options: { readonly admin?: boolean } = {}): PoolSuite {
  let db: TestDatabase | undefined;
  let admin: Admin | undefined;
  const pools: InstrumentedPool[] = [];
  before(async () => {
    db = await createTestDatabase(label);
    if (options.admin) admin = await Admin.connect(db);
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 1000 })));
  });
  after(async () => {
    await admin?.end();
    await db?.drop();
  });
  return {
    get db(): TestDatabase {
      if (!db) throw new Error('the suite database is created in before()');
      return db;
    },
    get admin(): Admin {
      if (!admin) throw new Error('poolSuite(label, { admin: true }) opens the admin connection in before()');
      return admin;
    },
    pools,
  };
}
