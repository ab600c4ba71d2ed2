import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import { Writable } from 'node:stream';
import winston from 'winston';
import { loadConfig } from '../../../src/config/load-config.js';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { findFreePort } from '../../../src/embedded/embedded-server.js';
import { CircuitOpenError } from '../../../src/errors/circuit-open-error.js';
import { QueryTimeoutError } from '../../../src/errors/query-timeout-error.js';
import type { CircuitStateChange } from '../../../src/resilience/circuit-breaker.js';
import { classifyError } from '../../../src/resilience/classify-error.js';
import type { TransactionEvent } from '../../../src/resilience/resilience-observer.js';
import type { RetryEvent } from '../../../src/resilience/retry-policy.js';
import { failureOf } from '../../support/failure.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, backendExists, configOf, eventually } from '../dialect/dialect-support.js';

interface Schema {
  note: { id: number; body: string };
}

/** Terminates the backend of the statement's own connection right before the chosen statements run, once each. */
function killBefore(testDb: TestDatabase, matches: (sqlText: string) => boolean, times = 1): QueryInterceptor {
  let left = times;
  return {
    name: 'kill-before',
    before: async (ctx) => {
      if (left === 0 || !matches(ctx.sql) || ctx.session.processId === undefined) return;
      left -= 1;
      const pid = ctx.session.processId;
      await adminQuery(testDb, 'select pg_terminate_backend($1)', [pid]);
      await eventually(async () => !(await backendExists(testDb, pid)));
    },
  };
}

/** A winston logger writing JSON lines into `lines`, as an application would configure it. */
function jsonLogger(lines: Record<string, unknown>[]): winston.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
}

describe('dialect resilience: retries, breaker, deadlines, transactions, error logs', () => {
  let testDb: TestDatabase;
  const opened: Database<Schema>[] = [];

  function open(options: Parameters<typeof createDatabase<Schema>>[1], overrides: Parameters<typeof configOf>[1] = {}): Database<Schema> {
    const database = createDatabase<Schema>(configOf(testDb, { maxConns: 2, ...overrides }), options);
    opened.push(database);
    return database;
  }

  before(async () => {
    testDb = await createTestDatabase('dialect resilience');
    await adminQuery(testDb, 'create table note (id int primary key, body text not null)');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((database) => database.close()));
  });

  after(async () => {
    await testDb?.drop();
  });

  it('retries a read whose connection died under it, on a new connection, and reports the retry', async () => {
    const retries: RetryEvent[] = [];
    const { db, pool } = open({
      interceptors: [killBefore(testDb, (text) => text.startsWith('select'))],
      observer: { onRetry: (event) => void retries.push(event) },
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    const rows = await db.selectFrom('note').select('id').execute();
    expect(rows).to.deep.equal([]);
    expect(retries.map((r) => [r.reason, r.attempt])).to.deep.equal([['read', 1]]);
    // the backend was gone before the statement was sent: node-postgres reports a connection error
    expect(classifyError(retries[0]?.error).kind).to.equal('connection');
    expect(pool.stats().active).to.equal(0);
  });

  it('never sends a write twice: a write whose connection died fails with the connection error', async () => {
    const retries: RetryEvent[] = [];
    const { db } = open({
      interceptors: [killBefore(testDb, (text) => text.startsWith('insert'))],
      observer: { onRetry: (event) => void retries.push(event) },
    });
    const failure = await failureOf(db.insertInto('note').values({ id: 1, body: 'once' }).execute());
    expect(classifyError(failure).kind).to.equal('connection');
    expect(retries).to.deep.equal([]);
    expect(await adminQuery(testDb, 'select id from note where id = 1')).to.deep.equal([]);
  });

  it('does not retry raw SQL, a read inside a transaction, or a read after other statements on its lease', async () => {
    const retries: RetryEvent[] = [];
    const { db } = open({
      interceptors: [killBefore(testDb, (text) => text.startsWith('select'), 3)],
      observer: { onRetry: (event) => void retries.push(event) },
    });
    expect(classifyError(await failureOf(sql`select 1`.execute(db))).kind).to.equal('connection');
    const inTransaction = await failureOf(db.transaction().execute((trx) => trx.selectFrom('note').selectAll().execute()));
    expect(classifyError(inTransaction).kind).to.equal('connection');
    const onLease = await failureOf(
      db.connection().execute(async (conn) => {
        await sql`set application_name = 'second statement'`.execute(conn);
        return conn.selectFrom('note').selectAll().execute();
      }),
    );
    expect(classifyError(onLease).kind).to.equal('connection');
    expect(retries).to.deep.equal([]);
  });

  it('ends a statement at its client deadline with QueryTimeoutError, cancels it on the server and reuses the connection clean', async () => {
    const { db, pool } = open({ queryTimeoutMs: 300 }, { maxConns: 1 });
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    const pid = rows[0]?.pid;
    const failure = await failureOf(sql`select pg_sleep(30)`.execute(db));
    expect(failure).to.be.instanceOf(QueryTimeoutError);
    expect((failure as QueryTimeoutError).timeoutMs).to.equal(300);
    // the sleep stopped on the server (canceled, not left running for 30 s)
    await eventually(async () => {
      const active = await adminQuery<{ n: string }>(testDb, "select count(*) as n from pg_stat_activity where pid = $1 and state = 'active'", [pid]);
      return active[0]?.n === '0';
    });
    const again = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    expect(again.rows[0]?.pid).to.equal(pid);
    expect(pool.stats().destroyedCount.error).to.equal(0);
  });

  it('cancels a stream on the server when its signal aborts, and reuses the connection', async () => {
    const { db, pool } = open({}, { maxConns: 1 });
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    const pid = rows[0]?.pid;
    const controller = new AbortController();
    const slow = sql<{ n: number }>`(select 1 as n from pg_sleep(30))`.as('slow');
    const consumed = (async () => {
      for await (const row of db.selectFrom(slow).selectAll().stream({ chunkSize: 10, signal: controller.signal })) void row;
    })();
    await eventually(async () => {
      const active = await adminQuery<{ n: string }>(testDb, "select count(*) as n from pg_stat_activity where pid = $1 and state = 'active'", [pid]);
      return active[0]?.n === '1';
    });
    controller.abort(new Error('caller left'));
    expect((await failureOf(consumed)).message).to.equal('caller left');
    // canceled on the server: the only connection comes back long before the 30 s sleep would end (the mocha timeout is shorter)
    await eventually(async () => pool.stats().active === 0);
    const again = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    expect(again.rows[0]?.pid).to.equal(pid);
    expect(pool.stats().destroyedCount.error).to.equal(0);
  });

  it('keeps every outcome when the logger throws', async () => {
    const throwing = {
      error: () => {
        throw new Error('log transport down');
      },
      warn: () => {
        throw new Error('log transport down');
      },
      info: () => undefined,
      debug: () => {
        throw new Error('log transport down');
      },
    };
    const { db, pool } = open({ logger: throwing, queryTimeoutMs: 200 }, { maxConns: 1 });
    await db.insertInto('note').values({ id: 30, body: 'x' }).execute();
    expect(await failureOf(db.insertInto('note').values({ id: 30, body: 'again' }).execute())).to.have.property('code', '23505');
    expect(await failureOf(sql`select pg_sleep(30)`.execute(db))).to.be.instanceOf(QueryTimeoutError);
    await eventually(async () => pool.stats().active === 0);
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).to.deep.equal([{ one: 1 }]);
  });

  it('opens the breaker after consecutive refused connections, then fails fast without connecting', async () => {
    const port = await findFreePort(); // nothing listens there
    const changes: CircuitStateChange[] = [];
    const retries: RetryEvent[] = [];
    const config = loadConfig({}, { host: '127.0.0.1', port, user: 'nobody', database: 'none', sslMode: 'disable' });
    const database = createDatabase<Schema>(config, {
      breaker: { threshold: 3, halfOpenAfterMs: 600_000 },
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
      observer: { onCircuitStateChange: (change) => void changes.push(change), onRetry: (event) => void retries.push(event) },
    });
    opened.push(database);
    const first = await failureOf(sql`select 1`.execute(database.db));
    expect(first).to.have.property('code', 'ECONNREFUSED');
    expect(retries.map((r) => r.reason)).to.deep.equal(['connect', 'connect']);
    expect(database.breaker?.state).to.equal('open');
    expect(changes.map((c) => [c.from, c.to])).to.deep.equal([['closed', 'open']]);
    const connectsBefore = database.pool.stats().connectErrorCount;
    const fast = await failureOf(sql`select 1`.execute(database.db));
    expect(fast).to.be.instanceOf(CircuitOpenError);
    expect((fast as CircuitOpenError).retryAfterMs).to.be.greaterThan(0);
    expect(database.pool.stats().connectErrorCount).to.equal(connectsBefore);
  });

  it('records every transaction with its outcome and duration', async () => {
    const transactions: TransactionEvent[] = [];
    const { db } = open({ observer: { onTransaction: (event) => void transactions.push(event) } });
    await db.transaction().execute((trx) => trx.insertInto('note').values({ id: 10, body: 'kept' }).execute());
    await failureOf(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('note').values({ id: 11, body: 'undone' }).execute();
        throw new Error('undo');
      }),
    );
    expect(transactions.map((t) => t.outcome)).to.deep.equal(['commit', 'rollback']);
    for (const event of transactions) expect(event.durationSeconds).to.be.at.least(0);
  });

  it('logs one structured line per failed statement through a winston logger, without values', async () => {
    const lines: Record<string, unknown>[] = [];
    const secret = 'hunter2-secret-value';
    const { db } = open({ logger: jsonLogger(lines) });
    await db.insertInto('note').values({ id: 20, body: 'first' }).execute();
    const failure = await failureOf(db.insertInto('note').values({ id: 20, body: secret }).execute());
    expect(failure).to.have.property('code', '23505');
    const failed = lines.filter((line) => line.message === 'query failed');
    expect(failed).to.have.length(1);
    expect(failed[0]).to.include({ level: 'warn', kind: 'constraint', code: '23505', operation: 'insert', table: 'note', attempt: 1 });
    expect(failed[0]).to.have.property('connectionId').that.is.a('number');
    expect(failed[0]).to.have.property('durationMs').that.is.a('number');
    expect(JSON.stringify(lines)).to.not.include(secret);
  });

  it('rejects invalid resilience options with a TypeError naming the option', () => {
    expect(() => createDatabase(configOf(testDb), { retry: { maxAttempts: 0 } })).to.throw(TypeError, 'retry.maxAttempts');
    expect(() => createDatabase(configOf(testDb), { breaker: { threshold: -1 } })).to.throw(TypeError, 'breaker.threshold');
    expect(() => createDatabase(configOf(testDb), { queryTimeoutMs: -5 })).to.throw(TypeError, 'queryTimeoutMs');
    expect(() => createDatabase(configOf(testDb), { cancelGraceMs: 1.5 })).to.throw(TypeError, 'cancelGraceMs');
  });

  it('a Kysely built on the same pool shares nothing it should not: db.destroy() keeps the pool', async () => {
    const { db, pool } = open({});
    const other = new Kysely<Schema>({ dialect: createDialect({ pool }) });
    await other.selectFrom('note').selectAll().execute();
    await other.destroy();
    expect(await db.selectFrom('note').select('id').where('id', '=', 10).execute()).to.deep.equal([{ id: 10 }]);
  });
});
