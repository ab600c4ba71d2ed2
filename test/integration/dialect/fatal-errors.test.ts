import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { ConnectionDiscardedError } from '../../../src/dialect/connection-discarded-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { isFatalConnectionError } from '../../../src/pool/fatal-error.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, backendExists, configOf, eventually } from './dialect-support.js';

async function backendPid(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  return rows[0]?.pid ?? -1;
}

describe('dialect: broken connections are destroyed, not reused', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let db: Kysely<unknown>;

  /** The pool counts a destroyed connection once pg has closed it: wait for the count, then check it exactly. */
  async function destroyedForError(expected: number): Promise<void> {
    await eventually(async () => pool.stats().destroyedCount.error >= expected);
    expect(pool.stats().destroyedCount.error).to.equal(expected);
  }

  before(async () => {
    testDb = await createTestDatabase('dialect fatal');
    pool = createPool(configOf(testDb, { maxConns: 1 }));
    db = new Kysely<unknown>({ dialect: createDialect({ pool }) });
  });

  after(async () => {
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('destroys the connection of a transaction whose backend another session terminated', async () => {
    const destroyedBefore = pool.stats().destroyedCount.error;
    let victim = -1;
    let failure: unknown;
    try {
      await db.transaction().execute(async (trx) => {
        victim = await backendPid(trx);
        await adminQuery(testDb, 'select pg_terminate_backend($1)', [victim]);
        await eventually(async () => !(await backendExists(testDb, victim)));
        await sql`select 1`.execute(trx);
      });
    } catch (error) {
      failure = error;
    }
    expect(isFatalConnectionError(failure)).to.equal(true);
    expect(pool.stats().active).to.equal(0);
    const next = await backendPid(db);
    expect(next).to.not.equal(victim);
    await destroyedForError(destroyedBefore + 1);
  });

  it('destroys a connection terminated in the middle of a statement', async () => {
    const destroyedBefore = pool.stats().destroyedCount.error;
    const victim = await backendPid(db);
    const running = sql`select pg_sleep(30)`.execute(db).then(
      () => undefined,
      (error: unknown) => error,
    );
    await eventually(async () => {
      const rows = await adminQuery<{ n: string }>(testDb, "select count(*) as n from pg_stat_activity where pid = $1 and state = 'active'", [victim]);
      return rows[0]?.n === '1';
    });
    await adminQuery(testDb, 'select pg_terminate_backend($1)', [victim]);
    const failure = await running;
    expect((failure as { code?: string }).code).to.equal('57P01');
    expect(await backendPid(db)).to.not.equal(victim);
    await destroyedForError(destroyedBefore + 1);
  });

  it('discards the connection when a rollback fails', async () => {
    const refuseRollback: QueryInterceptor = {
      before: (ctx) => {
        if (ctx.sql === 'rollback') throw new Error('rollback refused by a test interceptor');
      },
    };
    const guarded = new Kysely<unknown>({ dialect: createDialect({ pool, interceptors: [refuseRollback] }) });
    const destroyedBefore = pool.stats().destroyedCount.error;
    let pid = -1;
    let failure: unknown;
    try {
      await guarded.transaction().execute(async (trx) => {
        pid = await backendPid(trx);
        throw new Error('undo');
      });
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal('rollback refused by a test interceptor');
    expect(await backendPid(db)).to.not.equal(pid);
    await destroyedForError(destroyedBefore + 1);
  });

  it('releases with an error the pool classifies as fatal whenever it discards a connection', () => {
    for (const reason of ['rollback-failed', 'session-killed', 'open-transaction', 'stream-failed'] as const) {
      expect(isFatalConnectionError(new ConnectionDiscardedError(reason)), reason).to.equal(true);
    }
  });

  it('discards a connection released inside an open transaction block', async () => {
    const destroyedBefore = pool.stats().destroyedCount.error;
    const pid = await db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      return backendPid(conn);
    });
    expect(await backendPid(db)).to.not.equal(pid);
    await destroyedForError(destroyedBefore + 1);
  });
});
