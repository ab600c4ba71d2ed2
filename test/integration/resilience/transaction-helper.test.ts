/**
 * The transaction helper against a real PostgreSQL: commit, rollback, settings, and which failures
 * re-run the whole transaction. Every conflict is ordered with promises, never with sleeps, and
 * no assertion depends on timing.
 */
import { expect } from 'chai';
import { sql, type Generated, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import type { Logger } from '../../../src/observability/logger.js';
import { classifyError } from '../../../src/resilience/classify-error.js';
import type { RetryEvent } from '../../../src/resilience/retry-policy.js';
import { transaction, type TransactionOptions } from '../../../src/resilience/transaction.js';
import { failureOf } from '../../support/failure.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, backendExists, configOf, eventually } from '../dialect/dialect-support.js';

interface DB {
  counter: { id: number; v: number };
  slot: { id: number; v: number };
  item: { id: number; name: string };
  ledger: { id: Generated<number>; label: string };
}

const SCHEMA = `
  create table counter (id int primary key, v int not null);
  create table slot (id int primary key, v int not null);
  create table item (id int primary key, name text not null unique);
  create table ledger (id serial primary key, label text not null);
`;

/** A promise with its resolve function, to order two transactions deterministically. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void => {
      lines.push({ level, message, meta });
    };
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, lines };
}

async function readCounter(trx: Transaction<DB>): Promise<number> {
  const row = await trx.selectFrom('counter').select('v').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.v;
}

async function backendPid(trx: Transaction<DB>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
  return rows[0]!.pid;
}

describe('resilience: transaction() helper', () => {
  let testDb: TestDatabase;
  let database: Database<DB>;
  let db: Kysely<DB>;

  /** Labels in the ledger, in insertion order. */
  const ledger = async (): Promise<string[]> => (await db.selectFrom('ledger').select('label').orderBy('id').execute()).map((row) => row.label);

  /**
   * A callback body that, every time it runs, reads the counter in its (serializable) snapshot,
   * lets another session commit a change to that row, then updates it: always SQLSTATE 40001.
   */
  const alwaysConflicting = async (trx: Transaction<DB>): Promise<void> => {
    const v = await readCounter(trx);
    await adminQuery(testDb, 'update counter set v = v + 100 where id = 1');
    await trx.updateTable('counter').set({ v: v + 1 }).where('id', '=', 1).execute();
  };

  before(async () => {
    testDb = await createTestDatabase('resilience transaction helper');
    database = createDatabase<DB>(configOf(testDb, { maxConns: 4 }));
    db = database.db;
    await sql.raw(SCHEMA).execute(db);
  });

  beforeEach(async () => {
    await sql`truncate counter, slot, item, ledger restart identity`.execute(db);
    await db.insertInto('counter').values({ id: 1, v: 0 }).execute();
    await db.insertInto('slot').values([{ id: 1, v: 0 }, { id: 2, v: 0 }]).execute();
    await db.insertInto('item').values({ id: 1, name: 'taken' }).execute();
  });

  afterEach(() => {
    // every attempt, failed or not, gave its connection back
    expect(database.pool.stats().active).to.equal(0);
  });

  after(async () => {
    await database?.close();
    await testDb?.drop();
  });

  describe('one attempt', () => {
    it('commits and returns what the callback returned', async () => {
      const result = await transaction(db, async (trx) => {
        await trx.insertInto('ledger').values({ label: 'committed' }).execute();
        return { answer: 42 };
      });
      expect(result).to.deep.equal({ answer: 42 });
      expect(await ledger()).to.deep.equal(['committed']);
    });

    it('rolls back when the callback throws, and rethrows the very same error without retrying', async () => {
      const thrown = new Error('changed my mind');
      let calls = 0;
      const failure = await failureOf(
        transaction(db, async (trx) => {
          calls += 1;
          await trx.insertInto('ledger').values({ label: 'ghost' }).execute();
          throw thrown;
        }),
      );
      expect(failure).to.equal(thrown);
      expect(calls).to.equal(1);
      expect(await ledger()).to.deep.equal([]);
    });

    it('applies the isolation level and read-only access mode', async () => {
      const read = (trx: Transaction<DB>) =>
        sql<{ iso: string; ro: string }>`select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro`
          .execute(trx)
          .then(({ rows }) => rows[0]);
      expect(await transaction(db, read, { isolation: 'serializable', readOnly: true })).to.deep.equal({ iso: 'serializable', ro: 'on' });
      expect(await transaction(db, read, { isolation: 'repeatable read', accessMode: 'read only' })).to.deep.equal({
        iso: 'repeatable read',
        ro: 'on',
      });
      expect(await transaction(db, read, { accessMode: 'read write' })).to.deep.equal({ iso: 'read committed', ro: 'off' });
      expect(await transaction(db, read)).to.deep.equal({ iso: 'read committed', ro: 'off' });
    });

    it('rejects a write in a read-only transaction with 25006, without retrying', async () => {
      let calls = 0;
      const failure = await failureOf(
        transaction(
          db,
          async (trx) => {
            calls += 1;
            await trx.insertInto('ledger').values({ label: 'nope' }).execute();
          },
          { readOnly: true },
        ),
      );
      expect(failure).to.be.instanceOf(pg.DatabaseError);
      expect((failure as pg.DatabaseError).code).to.equal('25006');
      expect(calls).to.equal(1);
      expect(await ledger()).to.deep.equal([]);
    });

    it('does not retry a unique violation (23505)', async () => {
      let calls = 0;
      const events: RetryEvent[] = [];
      const failure = await failureOf(
        transaction(
          db,
          async (trx) => {
            calls += 1;
            await trx.insertInto('ledger').values({ label: 'before the duplicate' }).execute();
            await trx.insertInto('item').values({ id: 2, name: 'taken' }).execute();
          },
          { retries: 5, onRetry: (event) => events.push(event) },
        ),
      );
      expect(failure).to.be.instanceOf(pg.DatabaseError);
      expect((failure as pg.DatabaseError).code).to.equal('23505');
      expect(calls).to.equal(1);
      expect(events).to.deep.equal([]);
      expect(await ledger()).to.deep.equal([]);
    });
  });

  describe('serialization failures', () => {
    it('re-runs the whole callback after a real 40001 and commits its work once', async () => {
      const bHasRead = deferred();
      let aCalls = 0;
      let bCalls = 0;
      const events: RetryEvent[] = [];
      const options: TransactionOptions = { isolation: 'serializable', onRetry: (event) => events.push(event) };
      // A commits an increment of the counter after B has read it, and before B writes it.
      const a = transaction(
        db,
        async (trx) => {
          aCalls += 1;
          await bHasRead.promise;
          const v = await readCounter(trx);
          await trx.updateTable('counter').set({ v: v + 1 }).where('id', '=', 1).execute();
          await trx.insertInto('ledger').values({ label: 'a' }).execute();
          return 'a';
        },
        options,
      );
      const b = transaction(
        db,
        async (trx) => {
          bCalls += 1;
          const v = await readCounter(trx);
          if (bCalls === 1) {
            bHasRead.resolve();
            await a; // A has committed: B's update of the same row must fail with 40001
          }
          await trx.updateTable('counter').set({ v: v + 1 }).where('id', '=', 1).execute();
          await trx.insertInto('ledger').values({ label: 'b' }).execute();
          return 'b';
        },
        options,
      );
      expect(await Promise.all([a, b])).to.deep.equal(['a', 'b']);
      expect(aCalls).to.equal(1);
      expect(bCalls).to.equal(2);
      const { v } = await db.selectFrom('counter').select('v').where('id', '=', 1).executeTakeFirstOrThrow();
      expect(v).to.equal(2); // no lost update: B's second attempt read A's increment
      expect(await ledger()).to.deep.equal(['a', 'b']);
      expect(events).to.have.length(1);
      expect(events[0]).to.include({ reason: 'transaction', attempt: 1, maxAttempts: 3 });
      expect((events[0]!.error as pg.DatabaseError).code).to.equal('40001');
    });

    it('re-runs the transaction when the 40001 comes at COMMIT (write skew)', async () => {
      const bHasWritten = deferred();
      let aCalls = 0;
      let bCalls = 0;
      let bResolved = 0;
      const codes: unknown[] = [];
      const sumOfSlots = async (trx: Transaction<DB>): Promise<number> =>
        Number((await trx.selectFrom('slot').select((eb) => eb.fn.sum<string>('v').as('total')).executeTakeFirstOrThrow()).total);
      // Each reads both slots and writes one: no write-write conflict, only SSI's read-write cycle.
      const a = transaction(
        db,
        async (trx) => {
          aCalls += 1;
          await bHasWritten.promise;
          const total = await sumOfSlots(trx);
          await trx.updateTable('slot').set({ v: total + 1 }).where('id', '=', 1).execute();
        },
        { isolation: 'serializable' },
      );
      const b = transaction(
        db,
        async (trx) => {
          bCalls += 1;
          const total = await sumOfSlots(trx);
          await trx.updateTable('slot').set({ v: total + 1 }).where('id', '=', 2).execute();
          if (bCalls === 1) {
            bHasWritten.resolve();
            await a; // A commits first and dooms B, whose callback still completes
          }
          bResolved += 1;
        },
        { isolation: 'serializable', onRetry: (event) => codes.push(classifyError(event.error).code) },
      );
      await Promise.all([a, b]);
      expect(aCalls).to.equal(1);
      expect(bCalls).to.equal(2);
      expect(bResolved).to.equal(2); // the first attempt's callback resolved: it failed at COMMIT
      expect(codes).to.deep.equal(['40001']);
      const slots = await db.selectFrom('slot').select(['id', 'v']).orderBy('id').execute();
      expect(slots).to.deep.equal([
        { id: 1, v: 1 },
        { id: 2, v: 2 },
      ]);
    });

    it('rethrows the last 40001 (a pg.DatabaseError) once the default 3 attempts are spent, logging each retry', async () => {
      let calls = 0;
      const { logger, lines } = recordingLogger();
      const events: RetryEvent[] = [];
      const failure = await failureOf(
        transaction(
          db,
          async (trx) => {
            calls += 1;
            await alwaysConflicting(trx);
          },
          { isolation: 'serializable', logger, onRetry: (event) => events.push(event) },
        ),
      );
      expect(failure).to.be.instanceOf(pg.DatabaseError);
      expect((failure as pg.DatabaseError).code).to.equal('40001');
      expect(calls).to.equal(3);
      expect(events.map((event) => [event.attempt, event.maxAttempts, event.reason])).to.deep.equal([
        [1, 3, 'transaction'],
        [2, 3, 'transaction'],
      ]);
      expect(lines).to.have.length(2);
      for (const [index, line] of lines.entries()) {
        expect(line.level).to.equal('warn');
        expect(line.meta).to.have.all.keys('attempt', 'maxAttempts', 'delayMs', 'kind', 'code');
        expect(line.meta).to.include({ attempt: index + 1, maxAttempts: 3, kind: 'serialization', code: '40001' });
        expect(line.meta?.delayMs).to.be.a('number');
      }
      // The callback's SQL values never reach the log.
      expect(JSON.stringify(lines)).not.to.match(/counter|update|select/i);
    });

    it('honours retries as a number of retries after the first attempt, and as RetryOptions', async () => {
      let calls = 0;
      const once = (trx: Transaction<DB>): Promise<void> => {
        calls += 1;
        return alwaysConflicting(trx);
      };
      await failureOf(transaction(db, once, { isolation: 'serializable', retries: 1 }));
      expect(calls).to.equal(2);
      calls = 0;
      await failureOf(transaction(db, once, { isolation: 'serializable', retries: { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 } }));
      expect(calls).to.equal(4);
    });

    for (const retries of [0, false] as const) {
      it(`runs the callback once with retries: ${String(retries)}`, async () => {
        let calls = 0;
        const events: RetryEvent[] = [];
        const failure = await failureOf(
          transaction(
            db,
            async (trx) => {
              calls += 1;
              await alwaysConflicting(trx);
            },
            { isolation: 'serializable', retries, onRetry: (event) => events.push(event) },
          ),
        );
        expect((failure as pg.DatabaseError).code).to.equal('40001');
        expect(calls).to.equal(1);
        expect(events).to.deep.equal([]);
      });
    }

    it('stops retrying once the signal has aborted, and throws the failure itself', async () => {
      const controller = new AbortController();
      let calls = 0;
      const failure = await failureOf(
        transaction(
          db,
          async (trx) => {
            calls += 1;
            controller.abort(new Error('caller gave up'));
            await alwaysConflicting(trx);
          },
          { isolation: 'serializable', signal: controller.signal },
        ),
      );
      expect((failure as pg.DatabaseError).code).to.equal('40001');
      expect(calls).to.equal(1);
    });

    it('ignores an onRetry hook that throws (and logs that it did)', async () => {
      let calls = 0;
      const { logger, lines } = recordingLogger();
      await transaction(
        db,
        async (trx) => {
          calls += 1;
          if (calls === 1) await alwaysConflicting(trx);
        },
        {
          isolation: 'serializable',
          logger,
          onRetry: () => {
            throw new Error('broken hook');
          },
        },
      );
      expect(calls).to.equal(2);
      expect(lines.map((line) => line.message)).to.deep.equal([
        'transaction failed and will be retried',
        'transaction onRetry hook threw; the error is ignored',
      ]);
    });
  });

  describe('lost connections', () => {
    it('re-runs the callback on a fresh connection when its connection is killed mid-callback', async () => {
      const pids: number[] = [];
      const events: RetryEvent[] = [];
      const { logger, lines } = recordingLogger();
      const result = await transaction(
        db,
        async (trx) => {
          pids.push(await backendPid(trx));
          await trx.insertInto('ledger').values({ label: `attempt ${pids.length}` }).execute();
          if (pids.length === 1) {
            await sql`select pg_terminate_backend(pg_backend_pid())`.execute(trx);
            await sql`select 1`.execute(trx); // in case the termination only lands after the first answer
          }
          return pids.length;
        },
        { logger, onRetry: (event) => events.push(event) },
      );
      expect(result).to.equal(2);
      expect(pids).to.have.length(2);
      expect(pids[1]).not.to.equal(pids[0]);
      expect(await ledger()).to.deep.equal(['attempt 2']); // the first attempt was rolled back with its session
      expect(events).to.have.length(1);
      expect(classifyError(events[0]!.error).kind).to.equal('connection');
      expect(lines).to.have.length(1);
      expect(lines[0]!.meta).to.include({ attempt: 1, kind: 'connection' });
    });

    it('rethrows the error the callback got when retries are off (needs the driver not to throw from a failed ROLLBACK)', async () => {
      let seen: unknown;
      const failure = await failureOf(
        transaction(
          db,
          async (trx) => {
            try {
              await sql`select pg_terminate_backend(pg_backend_pid())`.execute(trx);
              await sql`select 1`.execute(trx);
            } catch (error) {
              seen = error;
              throw error;
            }
          },
          { retries: false },
        ),
      );
      expect(classifyError(failure).kind).to.equal('connection');
      expect(failure).to.equal(seen);
    });

    describe('during COMMIT', () => {
      let killing: Database<DB>;
      let armed = false;

      // Terminates the session just before its COMMIT is sent: the callback has resolved, and COMMIT
      // fails with a connection error. From the helper's side the outcome is unknown.
      const commitKiller: QueryInterceptor = {
        name: 'commit killer',
        async execute(ctx, next) {
          if (armed && ctx.sql === 'commit') {
            armed = false;
            const pid = ctx.session.processId!;
            await adminQuery(testDb, 'select pg_terminate_backend($1)', [pid]);
            await eventually(async () => !(await backendExists(testDb, pid)));
          }
          return next();
        },
      };

      before(() => {
        killing = createDatabase<DB>(configOf(testDb, { maxConns: 2 }), { interceptors: [commitKiller] });
      });

      after(async () => {
        await killing?.close();
      });

      it('never retries a connection lost at COMMIT', async () => {
        let calls = 0;
        const events: RetryEvent[] = [];
        armed = true;
        const failure = await failureOf(
          transaction(
            killing.db,
            async (trx) => {
              calls += 1;
              await trx.insertInto('ledger').values({ label: 'unknown outcome' }).execute();
            },
            { retries: 5, onRetry: (event) => events.push(event) },
          ),
        );
        expect(armed).to.equal(false);
        expect(classifyError(failure).kind).to.equal('connection');
        expect(calls).to.equal(1);
        expect(events).to.deep.equal([]);
        expect(killing.pool.stats().active).to.equal(0);
      });
    });
  });

  describe('validation', () => {
    const cases: ReadonlyArray<[string, unknown, RegExp]> = [
      ['isolation', { isolation: 'snapshot' }, /\bisolation\b/],
      ['isolation (not a string)', { isolation: 3 }, /\bisolation\b/],
      ['accessMode', { accessMode: 'read-only' }, /\baccessMode\b/],
      ['readOnly (not a boolean)', { readOnly: 'yes' }, /\breadOnly\b/],
      ['readOnly against accessMode', { readOnly: true, accessMode: 'read write' }, /readOnly.*accessMode/],
      ['readOnly: false against accessMode', { readOnly: false, accessMode: 'read only' }, /readOnly.*accessMode/],
      ['retries (negative)', { retries: -1 }, /\bretries\b/],
      ['retries (fraction)', { retries: 1.5 }, /\bretries\b/],
      ['retries (true)', { retries: true }, /\bretries\b/],
      ['retries.maxAttempts', { retries: { maxAttempts: 0 } }, /retries\.maxAttempts/],
      ['retries.maxDelayMs', { retries: { initialDelayMs: 100, maxDelayMs: 10 } }, /retries\.maxDelayMs/],
      ['onRetry', { onRetry: 'log it' }, /\bonRetry\b/],
      ['logger', { logger: {} }, /\blogger\b/],
      ['signal', { signal: true }, /\bsignal\b/],
      ['an unknown option', { isolationLevel: 'serializable' }, /isolationLevel.*did you mean isolation/],
      ['options that are not an object', 'serializable', /options must be an object/],
    ];

    for (const [what, options, message] of cases) {
      it(`rejects ${what} with a TypeError before using a connection`, async () => {
        const acquired = database.pool.stats().acquireCount;
        let calls = 0;
        const failure = await failureOf(
          transaction(
            db,
            async () => {
              calls += 1;
            },
            options as TransactionOptions,
          ),
        );
        expect(failure).to.be.instanceOf(TypeError);
        expect(failure.message).to.match(message);
        expect(calls).to.equal(0);
        expect(database.pool.stats().acquireCount).to.equal(acquired);
      });
    }

    it('rejects a Transaction in place of the Kysely instance', async () => {
      const failure = await failureOf(db.transaction().execute((trx) => transaction<DB, string>(trx, async () => 'nested')));
      expect(failure).to.be.instanceOf(TypeError);
      expect(failure.message).to.match(/do not nest/);
    });
  });

  it('re-runs a transaction whose cached prepared statement went stale (0A000 after ALTER TABLE), with the statement cache on', async () => {
    // one connection, so that the statement prepared by the first transaction is there for the second
    const single = createDatabase<{ drift: { id: number; note: string } }>(configOf(testDb, { maxConns: 1 }), { health: false });
    try {
      await sql`create table drift (id int primary key, note text not null)`.execute(single.db);
      await sql`insert into drift values (1, 'one')`.execute(single.db);
      const read = (trx: Transaction<{ drift: { id: number; note: string } }>) => trx.selectFrom('drift').selectAll().execute();
      expect(await transaction(single.db, read)).to.deep.equal([{ id: 1, note: 'one' }]);
      await adminQuery(testDb, "alter table drift add column extra text not null default 'x'");
      const events: RetryEvent[] = [];
      let calls = 0;
      const rows = await transaction(
        single.db,
        async (trx) => {
          calls += 1;
          return read(trx);
        },
        { onRetry: (event) => events.push(event) },
      );
      expect(rows).to.deep.equal([{ id: 1, note: 'one', extra: 'x' }]);
      expect(calls).to.equal(2);
      expect(events.map((event) => (event.error as { code?: string }).code)).to.deep.equal(['0A000']);
    } finally {
      await sql`drop table if exists drift`.execute(single.db).catch(() => undefined);
      await single.close();
    }
  });
});
