/**
 * Chaos: a server nearly full. A private server allows 6 connections (no reserved slots), another
 * client holds 3 of them, and a pool of 12 is hit by 24 concurrent statements: most of its
 * connection attempts are refused with SQLSTATE 53300 (`sorry, too many clients already`, severity
 * FATAL, sent before the session exists).
 *
 * Expected: those refusals are retried with backoff (`retry` option, reported to
 * `observer.onRetry` with reason `connect`), nothing crashes, no promise rejection goes unhandled,
 * every failure a caller sees is typed (53300 `pg.DatabaseError`, `AcquireTimeoutError` or
 * `ConnectionError`), and afterwards the pool serves queries normally. Successes, failures and
 * retries are counted and printed, not asserted beyond "typed" and "at least one 53300 retry".
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase, exclusiveActive } from './support/chaos-database.js';
import { directConfigInput } from './support/chaos-kit.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { AcquireTimeoutError } from '../../src/errors/acquire-timeout-error.js';
import { ConnectionError } from '../../src/errors/connection-error.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import type { RetryEvent } from '../../src/resilience/retry-policy.js';

const MAX_CONNECTIONS = 6;
const HELD_DIRECTLY = 3;
const POOL_SIZE = 12;
const CONCURRENT = 24;
const SEQUENTIAL_AFTER = 20;
const RETRY = { maxAttempts: 8, initialDelayMs: 20, maxDelayMs: 500 } as const;

/** What a caller may see when the server is full: anything else is a bug. */
function isTypedFailure(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return error.code === '53300';
  return error instanceof AcquireTimeoutError || error instanceof ConnectionError;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.constructor.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
  }
  return String(error);
}

describe('chaos: too many connections', function () {
  let server: EmbeddedServer | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startEmbeddedPostgres({
      postgresFlags: ['-c', `max_connections=${MAX_CONNECTIONS}`, '-c', 'superuser_reserved_connections=0'],
    });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.stop();
  });

  function directClient(): pg.Client {
    if (server === undefined) throw new Error('no server');
    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
    client.on('error', () => undefined); // the test checks results, not stray socket errors of this helper
    return client;
  }

  it('starts the server with max_connections=6 and no reserved connection slots', async () => {
    const client = directClient();
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings
          where name in ('max_connections', 'superuser_reserved_connections', 'reserved_connections')`,
      );
      const settings = Object.fromEntries(rows.map((row) => [row.name, row.setting]));
      expect(settings['max_connections']).to.equal(String(MAX_CONNECTIONS));
      expect(settings['superuser_reserved_connections']).to.equal('0');
      // reserved_connections exists from PostgreSQL 16 on (the embedded binaries are 18); its default is 0
      if ('reserved_connections' in settings) expect(settings['reserved_connections']).to.equal('0');
      const version = await client.query<{ server_version_num: string }>('show server_version_num');
      console.log(`      PostgreSQL ${version.rows[0]?.server_version_num}, settings ${JSON.stringify(settings)}`);
    } finally {
      await client.end();
    }
  });

  it('retries 53300 refusals with backoff, fails only with typed errors, and serves queries afterwards', async () => {
    if (server === undefined) throw new Error('no server');
    const held: pg.Client[] = [];
    let database: Database<Record<string, never>> | undefined;
    try {
      for (let i = 0; i < HELD_DIRECTLY; i++) {
        const client = directClient();
        held.push(client);
        await client.connect();
      }
      const retries: RetryEvent[] = [];
      database = chaosDatabase<Record<string, never>>(
        directConfigInput(server, { maxConns: POOL_SIZE, acquireTimeout: 10_000 }),
        {
          env: {},
          poolName: 'crowded',
          retry: RETRY,
          observer: { onRetry: (event) => void retries.push(event) },
        },
      );
      const { db, pool } = database;

      const started = performance.now();
      // each statement on a connection of its own (db.connection()), also with multiplexing on (the
      // suite's second pass, where single statements would share two connections): the scenario is
      // a pool that needs more connections than the server has
      const outcomes = await Promise.allSettled(
        Array.from({ length: CONCURRENT }, () => db.connection().execute((connection) => sql`select pg_sleep(0.2)`.execute(connection))),
      );
      const elapsed = performance.now() - started;
      const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      const successes = CONCURRENT - failures.length;
      const connectRetries = retries.filter((event) => event.reason === 'connect');
      const refusedRetries = connectRetries.filter((event) => classifyError(event.error).code === '53300');
      const stats = pool.stats();
      console.log(
        `      ${CONCURRENT} concurrent statements in ${Math.round(elapsed)} ms: ${successes} succeeded, ${failures.length} failed; ` +
          `${retries.length} retries (${connectRetries.length} connect, ${refusedRetries.length} after 53300); ` +
          `pool created ${stats.createdCount} connections, ${stats.connectErrorCount} connect errors, ${stats.acquireErrorCount} failed acquisitions`,
      );
      const failureKinds = new Map<string, number>();
      for (const failure of failures) {
        const key = describeFailure(failure);
        failureKinds.set(key, (failureKinds.get(key) ?? 0) + 1);
      }
      for (const [kind, count] of failureKinds) console.log(`      failure ×${count}: ${kind}`);

      const untyped = failures.filter((failure) => !isTypedFailure(failure)).map(describeFailure);
      expect(untyped, 'failures that are not 53300 / AcquireTimeoutError / ConnectionError').to.deep.equal([]);
      // HELD_DIRECTLY slots remain free: the pool gets at least one connection
      expect(successes).to.be.above(0);
      expect(refusedRetries.length, 'connect retries after a 53300 refusal').to.be.above(0);
      // backoff as configured: every delay within [0, maxDelayMs], attempts within the budget
      for (const event of connectRetries) {
        expect(event.attempt).to.be.within(1, RETRY.maxAttempts - 1);
        expect(event.maxAttempts).to.equal(RETRY.maxAttempts);
        expect(event.delayMs).to.be.within(0, RETRY.maxDelayMs);
      }
      const delays = connectRetries.map((event) => event.delayMs);
      console.log(
        `      connect retry delays: ${Math.round(Math.min(...delays))}–${Math.round(Math.max(...delays))} ms, ` +
          `highest attempt ${Math.max(...connectRetries.map((event) => event.attempt))}`,
      );

      // After the load (the other client still holds its connections), the pool serves queries in a row.
      for (let i = 0; i < SEQUENTIAL_AFTER; i++) {
        const { rows } = await sql<{ n: number }>`select ${i}::int as n`.execute(db);
        expect(rows).to.deep.equal([{ n: i }]);
      }
      expect(exclusiveActive(database)).to.equal(0);
      expect(pool.stats().waiting).to.equal(0);
      // let any stray rejection surface before checking
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled.map(describeFailure), 'unhandled rejections').to.deep.equal([]);
    } finally {
      await database?.close();
      await Promise.all(held.map((client) => client.end().catch(() => undefined)));
    }
  });
});
