import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { ConnectionDiscardedError } from '../../../src/dialect/connection-discarded-error.js';
import { createPool } from '../../../src/pool/create-pool.js';
import { isFatalConnectionError } from '../../../src/pool/fatal-error.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import type { Logger } from '../../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, backendExists, configOf, eventually } from './dialect-support.js';
import { failureOf } from '../../support/failure.js';

async function backendPid(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  return rows[0]?.pid ?? -1;
}

describe('dialect: broken connections are destroyed, not reused', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let db: Kysely<unknown>;
  /** Warnings of the pool and the dialect together. */
  const warnings: string[] = [];
  const logger: Logger = {
    error: () => undefined,
    warn: (message, meta) => void warnings.push(`${message} ${JSON.stringify(meta ?? {})}`),
    info: () => undefined,
    debug: () => undefined,
  };

  /** The pool counts a destroyed connection once pg has closed it: wait for the count, then check it exactly. */
  async function destroyedForError(expected: number): Promise<void> {
    await eventually(async () => pool.stats().destroyedCount.error >= expected);
    expect(pool.stats().destroyedCount.error).to.equal(expected);
  }

  before(async () => {
    testDb = await createTestDatabase('dialect fatal');
    pool = createPool(configOf(testDb, { maxConns: 1 }), { logger });
    db = new Kysely<unknown>({ dialect: createDialect({ pool, logger }) });
  });

  after(async () => {
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('destroys the connection of a transaction whose backend another session terminated, with one warning', async () => {
    const destroyedBefore = pool.stats().destroyedCount.error;
    warnings.length = 0;
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
    // the pool's listener reports the failed borrowed connection; the dialect adds nothing
    expect(warnings).to.have.length(1);
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

  /**
   * Rolls back a transaction on `guarded` whose rollback fails with `message`: the caller gets the
   * callback's own error (the failed rollback is logged, not thrown) and the connection is destroyed.
   */
  async function expectRollbackFailureDiscards(guarded: Kysely<unknown>, message: string): Promise<void> {
    const destroyedBefore = pool.stats().destroyedCount.error;
    let pid = -1;
    const failure = await failureOf(
      guarded.transaction().execute(async (trx) => {
        pid = await backendPid(trx);
        throw new Error('undo');
      }),
    );
    expect(failure.message).to.equal('undo');
    expect(warnings.some((w) => w.includes('rollback failed') && w.includes(message))).to.equal(true);
    expect(await backendPid(db)).to.not.equal(pid);
    await destroyedForError(destroyedBefore + 1);
  }

  it('discards the connection when a rollback fails inside the transaction', async () => {
    const refuseRollback: QueryInterceptor = {
      before: (ctx) => {
        if (ctx.sql === 'rollback') throw new Error('rollback refused by a test interceptor');
      },
    };
    const guarded = new Kysely<unknown>({ dialect: createDialect({ pool, interceptors: [refuseRollback], logger }) });
    await expectRollbackFailureDiscards(guarded, 'rollback refused by a test interceptor');
  });

  it('discards the connection when a rollback fails although the session is no longer in a transaction', async () => {
    // The rollback runs on the server (the session is idle again, so the pool's own check of the
    // transaction status would keep the connection), but its answer is lost: only the driver's
    // rollback-failed discard keeps the connection out of the pool.
    let status: string | undefined;
    const loseRollbackAnswer: QueryInterceptor = {
      execute: async (ctx, next) => {
        const result = await next();
        if (ctx.sql !== 'rollback') return result;
        status = ctx.session.client.getTransactionStatus() ?? undefined;
        throw new Error('the answer to rollback was lost');
      },
    };
    const guarded = new Kysely<unknown>({ dialect: createDialect({ pool, interceptors: [loseRollbackAnswer], logger }) });
    await expectRollbackFailureDiscards(guarded, 'the answer to rollback was lost');
    expect(status).to.equal('I');
  });

  it('releases with an error the pool classifies as fatal whenever it discards a connection', () => {
    for (const reason of ['rollback-failed', 'session-killed', 'stream-failed'] as const) {
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
