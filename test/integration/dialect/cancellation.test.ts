import { expect } from 'chai';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { backendExists, configOf, eventually, isRunning } from './dialect-support.js';

// Long enough to be canceled for sure; if the cancel does nothing, the sleep ends normally and the
// outcome check below fails (after at most this long, well within the mocha timeout).
const SLEEP = 'select pg_sleep(20)';

/** How a statement ended on the server side: `ok`, or the SQLSTATE (or message) it failed with. */
interface Outcome {
  readonly sql: string;
  readonly result: string;
}

/** Records the outcome of every statement, seen from inside the driver (the caller only sees the signal's reason). */
function outcomeRecorder(outcomes: Outcome[]): QueryInterceptor {
  return {
    name: 'outcomes',
    after: (ctx) => void outcomes.push({ sql: ctx.sql, result: 'ok' }),
    error: (ctx, error) => {
      const code = (error as { code?: unknown }).code;
      outcomes.push({ sql: ctx.sql, result: typeof code === 'string' ? code : String((error as Error).message) });
    },
  };
}

async function backendPid(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  return rows[0]?.pid ?? -1;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('dialect: cancellation (Kysely 0.29 abort signals)', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let db: Kysely<unknown>;
  let outcomes: Outcome[];

  /** The outcome of the last run of `text`, once it has settled (at the latest when an uncanceled sleep ends). */
  async function outcomeOf(text: string): Promise<string | undefined> {
    await eventually(async () => outcomes.some((o) => o.sql === text));
    return outcomes.filter((o) => o.sql === text).at(-1)?.result;
  }

  before(async () => {
    testDb = await createTestDatabase('dialect cancellation');
    // a single pooled connection: the control connection must not need the pool
    pool = createPool(configOf(testDb, { maxConns: 1, acquireTimeout: '10s' }));
    outcomes = [];
    db = new Kysely<unknown>({ dialect: createDialect({ pool, interceptors: [outcomeRecorder(outcomes)] }) });
  });

  beforeEach(() => {
    outcomes.length = 0;
  });

  after(async () => {
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('cancels the running statement with pg_cancel_backend and reuses the connection', async () => {
    const pid = await backendPid(db);
    const controller = new AbortController();
    const running = sql.raw(SLEEP).execute(db, { signal: controller.signal, inflightQueryAbortStrategy: 'cancel query' });
    await eventually(() => isRunning(testDb, SLEEP));
    controller.abort(new Error('caller gave up'));
    const failure = await rejection(running);
    expect((failure as Error).message).to.equal('caller gave up');
    expect(await outcomeOf(SLEEP)).to.equal('57014'); // canceled, not run to its end

    // the next statement waits for the one connection, which comes back once the cancel is done
    expect(await backendPid(db)).to.equal(pid);
    expect(await isRunning(testDb, SLEEP)).to.equal(false);
    expect(pool.stats().destroyedCount.error).to.equal(0);
  });

  it('cancels on a client deadline (AbortSignal.timeout)', async () => {
    const pid = await backendPid(db);
    const failure = await rejection(
      sql.raw(SLEEP).execute(db, { signal: AbortSignal.timeout(200), inflightQueryAbortStrategy: 'cancel query' }),
    );
    expect((failure as Error).name).to.equal('TimeoutError');
    expect(await outcomeOf(SLEEP)).to.equal('57014');
    expect(await backendPid(db)).to.equal(pid);
    expect(await isRunning(testDb, SLEEP)).to.equal(false);
  });

  it('cancels a statement inside a transaction; the transaction is then aborted and rolls back', async () => {
    const controller = new AbortController();
    let failure: unknown;
    try {
      await db.transaction().execute(async (trx) => {
        await sql`create temporary table scratch (x int)`.execute(trx);
        const running = sql.raw(SLEEP).execute(trx, { signal: controller.signal, inflightQueryAbortStrategy: 'cancel query' });
        await eventually(() => isRunning(testDb, SLEEP));
        controller.abort(new Error('stop'));
        await running;
      });
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal('stop');
    // the sleep failed with query_canceled (a sleep that ran to its end would be 'ok'), and the
    // transaction was then rolled back
    expect(await outcomeOf(SLEEP)).to.equal('57014');
    expect(outcomes.map((o) => [o.sql, o.result]).slice(-2)).to.deep.equal([
      [SLEEP, '57014'],
      ['rollback', 'ok'],
    ]);
    expect(await isRunning(testDb, SLEEP)).to.equal(false);
    const { rows } = await sql<{ exists: boolean }>`select to_regclass('pg_temp.scratch') is not null as exists`.execute(db);
    expect(rows).to.deep.equal([{ exists: false }]);
  });

  it('with "kill session", terminates the backend and never reuses the connection', async () => {
    const pid = await backendPid(db);
    const destroyedBefore = pool.stats().destroyedCount.error;
    const controller = new AbortController();
    const running = sql.raw(SLEEP).execute(db, { signal: controller.signal, inflightQueryAbortStrategy: 'kill session' });
    await eventually(() => isRunning(testDb, SLEEP));
    controller.abort(new Error('kill it'));
    expect(((await rejection(running)) as Error).message).to.equal('kill it');
    expect(await outcomeOf(SLEEP)).to.equal('57P01'); // admin_shutdown: terminated, not run to its end

    const next = await backendPid(db);
    expect(next).to.not.equal(pid);
    await eventually(async () => !(await backendExists(testDb, pid)));
    // counted once pg has closed the client
    await eventually(async () => pool.stats().destroyedCount.error > destroyedBefore);
    expect(pool.stats().destroyedCount.error).to.equal(destroyedBefore + 1);
  });

  it('does nothing when the signal fires after the statement finished', async () => {
    const pid = await backendPid(db);
    const controller = new AbortController();
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db, {
      signal: controller.signal,
      inflightQueryAbortStrategy: 'kill session',
    });
    controller.abort();
    expect(rows).to.deep.equal([{ one: 1 }]);
    expect(await backendPid(db)).to.equal(pid);
  });

  it('never cancels a later statement when the one to cancel has finished', async () => {
    const driver = createDialect({ pool }).createDriver();
    await driver.init();
    const connection = await driver.acquireConnection();
    const unused = async (): Promise<void> => {
      throw new Error('the control connection must not come from the pool');
    };
    try {
      const first = connection.executeQuery(CompiledQuery.raw('select 1'));
      const cancel = connection.cancelQuery?.(unused); // aimed at `select 1`
      await first;
      const second = connection.executeQuery<{ done: string }>(CompiledQuery.raw("select pg_sleep(0.3), 'done' as done"));
      await cancel;
      const { rows } = await second;
      expect(rows.map((row) => row.done)).to.deep.equal(['done']);
      // and one aimed at a running statement does cancel it
      const third = connection.executeQuery(CompiledQuery.raw(SLEEP)).then(
        () => undefined,
        (error: unknown) => error,
      );
      await eventually(() => isRunning(testDb, SLEEP));
      await connection.cancelQuery?.(unused);
      expect(((await third) as { code?: string }).code).to.equal('57014');
    } finally {
      await driver.releaseConnection(connection);
      await driver.destroy();
    }
    expect(pool.closed).to.equal(false);
  });

  it('opens its control connection with the TLS choice the pooled connection ended up with (sslmode prefer)', async () => {
    // prefer: TLS first, plaintext if the server refuses TLS; the control connection must follow suit
    const preferPool = createPool(configOf(testDb, { maxConns: 1, sslMode: 'prefer' }));
    const preferDb = new Kysely<unknown>({ dialect: createDialect({ pool: preferPool, interceptors: [outcomeRecorder(outcomes)] }) });
    try {
      const pid = await backendPid(preferDb);
      const controller = new AbortController();
      const running = sql.raw(SLEEP).execute(preferDb, { signal: controller.signal, inflightQueryAbortStrategy: 'cancel query' });
      await eventually(() => isRunning(testDb, SLEEP));
      controller.abort(new Error('stop'));
      expect(((await rejection(running)) as Error).message).to.equal('stop');
      expect(await outcomeOf(SLEEP)).to.equal('57014');
      expect(await backendPid(preferDb)).to.equal(pid);
      expect(await isRunning(testDb, SLEEP)).to.equal(false);
    } finally {
      await preferDb.destroy();
      await preferPool.close();
    }
  });

  it('gives up waiting for a connection when aborted during acquisition', async () => {
    const trx = await db.startTransaction().execute(); // holds the only connection
    try {
      const controller = new AbortController();
      const waiting = sql`select 1`.execute(db, { signal: controller.signal });
      controller.abort(new Error('no longer needed'));
      expect(((await rejection(waiting)) as Error).message).to.equal('no longer needed');
    } finally {
      await trx.rollback().execute();
    }
    expect(pool.stats().active).to.equal(0);
  });
});
