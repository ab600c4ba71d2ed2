import { expect } from 'chai';
import { CompiledQuery, Kysely, sql } from 'kysely';
import pg from 'pg';
import { ConnectionDiscardedError } from '../../../src/dialect/connection-discarded-error.js';
import type { PostgresConnection } from '../../../src/dialect/connection.js';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import type { QueryContext } from '../../../src/dialect/query-context.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import type { Logger } from '../../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf, PERSON_SCHEMA, type PersonDatabase } from './dialect-support.js';
import { failureOf } from '../../support/failure.js';

interface Seen {
  readonly hook: 'before' | 'after' | 'error';
  readonly sql: string;
  readonly operation: string;
  readonly tables: readonly string[];
  readonly inTransaction: boolean;
  readonly mode: string;
  readonly durationKnown: boolean;
  readonly rowCount: number | undefined;
  readonly errorCode?: unknown;
}

function recorder(seen: Seen[]): QueryInterceptor {
  const note = (hook: Seen['hook'], ctx: QueryContext, extra: Partial<Seen> = {}): void => {
    seen.push({
      hook,
      sql: ctx.sql,
      operation: ctx.operation,
      tables: ctx.tables,
      inTransaction: ctx.inTransaction,
      mode: ctx.mode,
      durationKnown: ctx.durationMs !== undefined,
      rowCount: ctx.rowCount,
      ...extra,
    });
  };
  return {
    name: 'recorder',
    before: (ctx) => note('before', ctx),
    after: (ctx) => note('after', ctx),
    error: (ctx, error) => note('error', ctx, { errorCode: (error as { code?: unknown }).code }),
  };
}

/** A logger that keeps its warnings. */
function warningsInto(warnings: { message: string; meta: Record<string, unknown> | undefined }[]): Logger {
  return {
    error: () => undefined,
    warn: (message, meta) => void warnings.push({ message, meta }),
    info: () => undefined,
    debug: () => undefined,
  };
}


describe('dialect: interceptor chain', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let plain: Kysely<PersonDatabase>;
  let seen: Seen[];
  let db: Kysely<PersonDatabase>;

  before(async () => {
    testDb = await createTestDatabase('dialect interceptors');
    pool = createPool(configOf(testDb, { maxConns: 1 }));
    plain = new Kysely<PersonDatabase>({ dialect: createDialect({ pool }) });
    await sql.raw(PERSON_SCHEMA).execute(plain);
    await plain.insertInto('person').values({ first_name: 'Ada', email: 'ada@example.com' }).execute();
  });

  beforeEach(() => {
    seen = [];
    db = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen)] }) });
  });

  after(async () => {
    await plain?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('sees before and after of a successful insert, with operation and table', async () => {
    await db.insertInto('person').values({ first_name: 'Alan' }).execute();
    expect(seen.map(({ hook, operation, tables, inTransaction, durationKnown }) => ({ hook, operation, tables, inTransaction, durationKnown }))).to.deep.equal([
      { hook: 'before', operation: 'insert', tables: ['person'], inTransaction: false, durationKnown: false },
      { hook: 'after', operation: 'insert', tables: ['person'], inTransaction: false, durationKnown: true },
    ]);
  });

  it('names every table of a select with joins, target first, without aliases', async () => {
    await db
      .selectFrom('person as p')
      .leftJoin('pet', 'pet.owner_id', 'p.id')
      .select(['p.first_name', 'pet.name'])
      .execute();
    expect(seen.map((s) => [s.hook, s.operation, s.tables])).to.deep.equal([
      ['before', 'select', ['person', 'pet']],
      ['after', 'select', ['person', 'pet']],
    ]);
    expect(seen[1]?.rowCount).to.equal(2);
  });

  it('labels update, delete and DDL from the query tree, raw SQL from its keyword', async () => {
    await db.updateTable('person').set({ age: 1 }).where('id', '=', -1).execute();
    await db.deleteFrom('pet').where('id', '=', -1).execute();
    await db.schema.createTable('audit').addColumn('id', 'integer').execute();
    await sql`/* tagged */ with gone as (delete from pet where id = -1 returning id) select count(*) from gone`.execute(db);
    await sql`truncate audit`.execute(db);
    const befores = seen.filter((s) => s.hook === 'before').map((s) => [s.operation, s.tables]);
    expect(befores).to.deep.equal([
      ['update', ['person']],
      ['delete', ['pet']],
      ['ddl', ['audit']],
      ['select', []],
      ['ddl', []],
    ]);
  });

  it('sees error (not after) for a failed insert, with the pg.DatabaseError the caller gets', async () => {
    let hookError: unknown;
    const spy: QueryInterceptor = {
      error: (_ctx, error) => {
        hookError = error;
      },
    };
    const withSpy = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen), spy] }) });
    const failure = await failureOf(() => withSpy.insertInto('person').values({ first_name: 'Copy', email: 'ada@example.com' }).execute());
    expect(failure).to.be.instanceOf(pg.DatabaseError);
    expect(hookError).to.equal(failure);
    expect(seen.map((s) => [s.hook, s.operation, s.tables, s.errorCode, s.durationKnown])).to.deep.equal([
      ['before', 'insert', ['person'], undefined, false],
      ['error', 'insert', ['person'], '23505', true],
    ]);
  });

  it('knows which statements run inside a transaction', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ first_name: 'In trx' }).execute();
    });
    expect(seen.filter((s) => s.hook === 'before').map((s) => [s.sql, s.operation, s.inTransaction])).to.deep.equal([
      ['begin', 'other', false],
      ['insert into "person" ("first_name") values ($1)', 'insert', true],
      ['commit', 'other', true],
    ]);
  });

  it('runs hooks as an onion: first interceptor outermost', async () => {
    const order: string[] = [];
    const named = (name: string): QueryInterceptor => ({
      before: () => void order.push(`${name}.before`),
      execute: async (_ctx, next) => {
        order.push(`${name}.execute`);
        return next();
      },
      after: async () => {
        await Promise.resolve();
        order.push(`${name}.after`);
      },
    });
    const onion = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [named('a'), named('b')] }) });
    await onion.selectFrom('person').select('id').execute();
    expect(order).to.deep.equal(['a.before', 'a.execute', 'b.before', 'b.execute', 'b.after', 'a.after']);
  });

  it('lets an interceptor answer a query without reaching the server (short-circuit)', async () => {
    const cache: QueryInterceptor = {
      execute: async (ctx, next) => (ctx.sql.includes('no_such_table') ? { rows: [{ answer: 42 }] } : next()),
    };
    const cached = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [cache, recorder(seen)] }) });
    // the table does not exist: reaching the server would fail with 42P01
    const { rows } = await sql<{ answer: number }>`select answer from no_such_table`.execute(cached);
    expect(rows).to.deep.equal([{ answer: 42 }]);
    expect(seen).to.deep.equal([]); // inner interceptors never ran
    const outer = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen), cache] }) });
    await sql`select answer from no_such_table`.execute(outer);
    expect(seen.map((s) => [s.hook, s.rowCount, s.durationKnown])).to.deep.equal([
      ['before', undefined, false],
      ['after', 1, true],
    ]);
  });

  it('lets an interceptor run the statement as a named prepared statement', async () => {
    const named: QueryInterceptor = {
      execute: async (ctx, next) => {
        if (ctx.operation === 'select' && ctx.tables[0] === 'person') ctx.statementName = 'person_by_id';
        return next();
      },
    };
    const prepared = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [named] }) });
    const first = await prepared.selectFrom('person').select('first_name').where('id', '=', 1).execute();
    const again = await prepared.selectFrom('person').select('first_name').where('id', '=', 1).execute();
    expect(again).to.deep.equal(first);
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(plain);
    expect(rows.map((r) => r.name)).to.include('person_by_id');
    await sql`deallocate person_by_id`.execute(plain);
  });

  it('lets an interceptor see an error and run the statement again', async () => {
    let attempts = 0;
    const createOnDemand: QueryInterceptor = {
      execute: async (ctx, next) => {
        attempts += 1;
        try {
          return await next();
        } catch (error) {
          if ((error as { code?: string }).code !== '42P01') throw error;
          await ctx.session.client.query('create table lazily_made (x int)');
          attempts += 1;
          return next();
        }
      },
    };
    const healing = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen), createOnDemand] }) });
    const { rows } = await sql<{ n: string }>`select count(*) as n from lazily_made`.execute(healing);
    expect(rows).to.deep.equal([{ n: '0' }]);
    expect(attempts).to.equal(2);
    expect(seen.map((s) => s.hook)).to.deep.equal(['before', 'after']);
  });

  it('fails the statement when a before hook throws, and the server never runs it', async () => {
    const guard: QueryInterceptor = {
      before: (ctx) => {
        if (ctx.operation === 'delete' && ctx.tables.includes('person')) throw new Error('deletes from person are not allowed');
      },
    };
    const guarded = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen), guard] }) });
    const failure = await failureOf(() => guarded.deleteFrom('person').execute());
    expect(failure.message).to.equal('deletes from person are not allowed');
    expect(seen.map((s) => s.hook)).to.deep.equal(['before', 'error']);
    const { n } = await plain.selectFrom('person').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n)).to.be.greaterThan(0);
  });

  it('keeps per-statement state and per-connection session state', async () => {
    const key = Symbol('probe');
    const sessions: unknown[] = [];
    const probe: QueryInterceptor = {
      before: (ctx) => {
        ctx.state.set(key, ctx.queryId);
        const count = (ctx.session.state.get(key) as number | undefined) ?? 0;
        ctx.session.state.set(key, count + 1);
        sessions.push(ctx.session);
      },
      after: (ctx) => {
        expect(ctx.state.get(key)).to.equal(ctx.queryId);
      },
    };
    const probed = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [probe] }) });
    await probed.selectFrom('person').select('id').execute();
    await probed.selectFrom('person').select('id').execute();
    expect(sessions[0]).to.equal(sessions[1]); // one pooled connection: the same session object
    expect((sessions[0] as QueryContext['session']).state.get(key)).to.equal(2);

    // A second Kysely instance on the same pool sees the same per-connection state: it belongs to
    // the physical connection (e.g. which statements are prepared on it), not to one dialect.
    const other = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [probe] }) });
    await other.selectFrom('person').select('id').execute();
    const last = sessions[sessions.length - 1] as QueryContext['session'];
    expect(last.id).to.equal((sessions[0] as QueryContext['session']).id);
    expect(last.state.get(key)).to.equal(3);
    await other.destroy();
  });

  it('sees streams: before, then after with the number of rows streamed', async () => {
    const rows: unknown[] = [];
    for await (const row of db.selectFrom('person').select('first_name').stream(1)) rows.push(row);
    expect(seen.map((s) => [s.hook, s.mode, s.operation, s.tables, s.rowCount])).to.deep.equal([
      ['before', 'stream', 'select', ['person'], undefined],
      ['after', 'stream', 'select', ['person'], rows.length],
    ]);
  });

  it('sees a failed stream through its error hook', async () => {
    await failureOf(async () => {
      for await (const row of db.selectFrom('person').select(sql<number>`1 / 0`.as('x')).stream(10)) void row;
    });
    expect(seen.map((s) => [s.hook, s.mode, s.errorCode])).to.deep.equal([
      ['before', 'stream', undefined],
      ['error', 'stream', '22012'],
    ]);
  });

  it('keeps a committed insert reported as committed when an after hook throws (observers cannot change the outcome)', async () => {
    const warnings: { message: string; meta: Record<string, unknown> | undefined }[] = [];
    const broken: QueryInterceptor = {
      name: 'broken-audit',
      after: (ctx) => {
        if (ctx.operation === 'insert') throw new Error('audit sink unavailable');
      },
    };
    const brokenAsync: QueryInterceptor = {
      name: 'broken-async-audit',
      after: async () => {
        throw new Error('async audit sink unavailable');
      },
    };
    const audited = new Kysely<PersonDatabase>({
      dialect: createDialect({ pool, interceptors: [recorder(seen), broken, brokenAsync], logger: warningsInto(warnings) }),
    });
    for (const name of ['Observed once', 'Observed twice']) {
      const { id } = await audited.insertInto('person').values({ first_name: name }).returning('id').executeTakeFirstOrThrow();
      const stored = await plain.selectFrom('person').select('first_name').where('id', '=', id).execute();
      expect(stored).to.deep.equal([{ first_name: name }]);
    }
    // the outer interceptor saw the success, not the hook's failure
    expect(seen.map((s) => s.hook)).to.deep.equal(['before', 'after', 'before', 'after']);
    // one warning per failing hook, not one per statement
    expect(warnings.map((w) => [w.meta?.interceptor, w.meta?.hook])).to.deep.equal([
      ['broken-async-audit', 'after'],
      ['broken-audit', 'after'],
    ]);
  });

  it('keeps the pg.DatabaseError and its SQLSTATE when an error hook throws', async () => {
    const broken: QueryInterceptor = {
      error: async () => {
        throw new Error('metrics backend down');
      },
    };
    const alsoBroken: QueryInterceptor = {
      error: () => {
        throw new TypeError('bug in an error hook');
      },
    };
    const observed = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [recorder(seen), broken, alsoBroken] }) });
    const failure = await failureOf(() => observed.insertInto('person').values({ first_name: 'Copy', email: 'ada@example.com' }).execute());
    expect(failure).to.be.instanceOf(pg.DatabaseError);
    expect((failure as pg.DatabaseError).code).to.equal('23505');
    expect(seen.map((s) => [s.hook, s.errorCode])).to.deep.equal([
      ['before', undefined],
      ['error', '23505'],
    ]);
  });

  it('keeps the outcome when observer hooks throw values that cannot be described', async () => {
    const warnings: { message: string; meta: Record<string, unknown> | undefined }[] = [];
    const noPrototype: unknown = Object.create(null);
    const badMessage = new Error('hidden');
    Object.defineProperty(badMessage, 'message', {
      get: () => {
        throw new Error('message getter');
      },
    });
    const odd: QueryInterceptor = {
      name: 'odd',
      after: () => {
        throw noPrototype;
      },
      error: () => Promise.reject(badMessage),
    };
    const observed = new Kysely<PersonDatabase>({
      dialect: createDialect({ pool, interceptors: [recorder(seen), odd], logger: warningsInto(warnings) }),
    });
    const { id } = await observed.insertInto('person').values({ first_name: 'Odd' }).returning('id').executeTakeFirstOrThrow();
    expect(await plain.selectFrom('person').select('first_name').where('id', '=', id).execute()).to.deep.equal([{ first_name: 'Odd' }]);
    const failure = await failureOf(() => observed.insertInto('person').values({ first_name: 'Dup', email: 'ada@example.com' }).execute());
    expect((failure as pg.DatabaseError).code).to.equal('23505');
    expect(seen.map((s) => s.hook)).to.deep.equal(['before', 'after', 'before', 'error']);
    // the dialect's own 'query failed' line for the 23505 is not a hook failure
    const hookWarnings = warnings.filter((w) => w.message !== 'query failed');
    expect(hookWarnings.map((w) => [w.meta?.hook, typeof w.meta?.error])).to.deep.equal([
      ['after', 'string'],
      ['error', 'string'],
    ]);
  });

  it('streams the SQL and parameters a before hook rewrote', async () => {
    const rewrite: QueryInterceptor = {
      before: (ctx) => {
        if (ctx.mode !== 'stream') return;
        ctx.sql = 'select n * 2 as n from generate_series(1, $1::int) as n';
        ctx.parameters = [3];
      },
    };
    const rewriting = new Kysely<PersonDatabase>({ dialect: createDialect({ pool, interceptors: [rewrite, recorder(seen)] }) });
    const rows: unknown[] = [];
    for await (const row of rewriting.selectFrom('person').select('id').where('id', '=', 99).stream(2)) rows.push(row);
    expect(rows).to.deep.equal([{ n: 2 }, { n: 4 }, { n: 6 }]);
    expect(seen.map((s) => [s.hook, s.sql, s.rowCount])).to.deep.equal([
      ['before', 'select n * 2 as n from generate_series(1, $1::int) as n', undefined],
      ['after', 'select n * 2 as n from generate_series(1, $1::int) as n', 3],
    ]);
  });

  it('refuses a statement on a released or discarded lease before the chain: only error hooks run', async () => {
    const calls: string[] = [];
    // a result cache that would answer anything, and a statement cache that would use the client
    const cache: QueryInterceptor = {
      name: 'cache',
      before: () => void calls.push('cache.before'),
      execute: async (ctx) => {
        calls.push('cache.execute');
        void ctx.session.client;
        return { rows: [{ cached: true }] };
      },
      after: () => void calls.push('cache.after'),
      error: (ctx, error) => void calls.push(`cache.error:${ctx.sql}:${error instanceof ConnectionDiscardedError ? 'discarded' : (error as Error).message}`),
    };
    const driver = createDialect({ pool, interceptors: [recorder(seen), cache] }).createDriver();
    await driver.init();
    try {
      const released = await driver.acquireConnection();
      await driver.releaseConnection(released);
      const afterRelease = await failureOf(() => released.executeQuery(CompiledQuery.raw('select 1')));
      expect(afterRelease.message).to.equal('the connection was already released');
      const streamAfterRelease = await failureOf(async () => {
        for await (const chunk of released.streamQuery(CompiledQuery.raw('select 2'), 10)) void chunk;
      });
      expect(streamAfterRelease.message).to.equal('the connection was already released');

      const discarded = (await driver.acquireConnection()) as PostgresConnection;
      try {
        discarded.discard('stream-failed');
        const failure = await failureOf(() => discarded.executeQuery(CompiledQuery.raw('select 3')));
        expect(failure).to.be.instanceOf(ConnectionDiscardedError);
        const streamFailure = await failureOf(async () => {
          for await (const chunk of discarded.streamQuery(CompiledQuery.raw('select 4'), 10)) void chunk;
        });
        expect(streamFailure).to.be.instanceOf(ConnectionDiscardedError);
      } finally {
        await driver.releaseConnection(discarded);
      }
      expect(calls).to.deep.equal([
        'cache.error:select 1:the connection was already released',
        'cache.error:select 2:the connection was already released',
        'cache.error:select 3:discarded',
        'cache.error:select 4:discarded',
      ]);
      expect(seen.map((s) => [s.hook, s.sql, s.mode, s.durationKnown, s.inTransaction])).to.deep.equal([
        ['error', 'select 1', 'execute', true, false],
        ['error', 'select 2', 'stream', true, false],
        ['error', 'select 3', 'execute', true, false],
        ['error', 'select 4', 'stream', true, false],
      ]);
    } finally {
      await driver.destroy();
    }
  });

  it('does not report the transaction state of the next borrower for a statement on a released lease', async () => {
    const driver = createDialect({ pool, interceptors: [recorder(seen)] }).createDriver();
    await driver.init();
    try {
      const released = await driver.acquireConnection();
      await driver.releaseConnection(released);
      const next = await driver.acquireConnection(); // maxConns 1: the same physical connection
      try {
        await next.executeQuery(CompiledQuery.raw('begin'));
        seen.length = 0;
        await failureOf(() => released.executeQuery(CompiledQuery.raw('select 1')));
        expect(seen.map((s) => [s.hook, s.inTransaction])).to.deep.equal([['error', false]]);
        await next.executeQuery(CompiledQuery.raw('rollback'));
      } finally {
        await driver.releaseConnection(next);
      }
    } finally {
      await driver.destroy();
    }
  });
});
