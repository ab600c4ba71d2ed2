import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { Kysely, sql, type Generated } from 'kysely';
import type pg from 'pg';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import type { InterceptedResult, QueryInterceptor } from '../../../src/dialect/interceptor.js';
import type { QueryContext } from '../../../src/dialect/query-context.js';
import type { Logger } from '../../../src/observability/logger.js';
import type { StatementCacheCounters } from '../../../src/observability/metrics.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { hasMultipleStatements } from '../../../src/plugins/sql-statements.js';
import { statementCache, type StatementCacheOptions } from '../../../src/plugins/statement-cache.js';
import { failureOf } from '../../support/failure.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf } from '../dialect/dialect-support.js';

interface Db {
  item: {
    id: number;
    name: string;
    price: string | null;
    tags: string[] | null;
    meta: unknown;
    created_at: Generated<Date>;
    big: string | null;
    flag: boolean | null;
    data: Buffer | null;
  };
  scratch: { v: number };
  thing_alter: { id: number; name: string; extra?: number };
  thing_tx_alter: { id: number; name: string; extra?: number };
  thing_dropped: { id: number };
}

const SCHEMA = `
  create table item (
    id int primary key,
    name text not null,
    price numeric(10, 2),
    tags text[],
    meta jsonb,
    created_at timestamptz not null default '2024-01-01T00:00:00Z',
    big bigint,
    flag boolean,
    data bytea
  );
  insert into item (id, name, price, tags, meta, big, flag, data) values
    (1, 'one', 1.50, '{a,b}', '{"k": 1}', 9007199254740993, true, '\\x0102'),
    (2, 'two', null, null, null, null, null, null),
    (3, 'three', 3.00, '{}', '[1, "x", null]', -1, false, '\\x');
  create table scratch (v int);
`;

/** Counts of a fake {@link StatementCacheCounters}. */
interface Counts {
  hit: number;
  miss: number;
  evicted: number;
  reprepared: number;
}

function fakeCounters(counts: Counts): StatementCacheCounters {
  return {
    hit: () => void (counts.hit += 1),
    miss: () => void (counts.miss += 1),
    evicted: (count = 1) => void (counts.evicted += count),
    reprepared: () => void (counts.reprepared += 1),
  };
}

interface Logged {
  readonly level: 'warn' | 'debug';
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

function recordingLogger(logged: Logged[]): Logger {
  return {
    error: () => undefined,
    warn: (message, meta) => void logged.push({ level: 'warn', message, meta }),
    info: () => undefined,
    debug: (message, meta) => void logged.push({ level: 'debug', message, meta }),
  };
}

/** The name the plugin gives a text (its documented scheme). */
function statementNameOf(text: string): string {
  return `ahdb_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

/** Remembers the session client of the statements it sees (to reach the connection underneath). */
function clientSpy(seen: { client?: pg.PoolClient }): QueryInterceptor {
  return { name: 'client-spy', before: (ctx) => void (seen.client = ctx.session.client) };
}

/** A cached Kysely and a plain one over one pool of ONE connection: every statement shares that connection. */
interface Harness {
  readonly pool: InstrumentedPool;
  /** Through the statement cache (and the client spy, outermost). */
  readonly db: Kysely<Db>;
  /** No interceptor: nothing is ever named (to look at the connection without touching the cache). */
  readonly plain: Kysely<Db>;
  readonly counts: Counts;
  readonly logged: Logged[];
  readonly seen: { client?: pg.PoolClient };
}

interface PreparedRow {
  name: string;
  statement: string;
  runs: number;
}

/** The plugin's prepared statements on the harness's connection. */
async function preparedOn(h: Harness): Promise<PreparedRow[]> {
  const { rows } = await sql<PreparedRow>`
    select name, statement, (generic_plans + custom_plans)::int as runs
    from pg_prepared_statements where name like 'ahdb\\_%' order by name`.execute(h.plain);
  return rows;
}

async function preparedCount(h: Harness): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where name like 'ahdb\\_%'`.execute(h.plain);
  return rows[0]?.n ?? -1;
}

async function backendPid(kysely: Kysely<Db>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(kysely);
  return rows[0]?.pid ?? -1;
}

describe('plugins: statement cache', () => {
  let testDb: TestDatabase;
  let harnesses: Harness[] = [];

  before(async () => {
    testDb = await createTestDatabase('statement cache');
    const setup = createPool(configOf(testDb, { maxConns: 1 }));
    const kysely = new Kysely<Db>({ dialect: createDialect({ pool: setup }) });
    await sql.raw(SCHEMA).execute(kysely);
    await kysely.destroy();
    await setup.close();
  });

  after(async () => {
    await testDb?.drop();
  });

  afterEach(async () => {
    for (const h of harnesses) {
      await h.db.destroy();
      await h.plain.destroy();
      await h.pool.close();
    }
    harnesses = [];
  });

  /** A fresh pool (so a fresh connection and an empty cache) with the cache configured by `options`. */
  function harness(options: Omit<StatementCacheOptions, 'counters' | 'logger'> = {}): Harness {
    const counts: Counts = { hit: 0, miss: 0, evicted: 0, reprepared: 0 };
    const logged: Logged[] = [];
    const seen: { client?: pg.PoolClient } = {};
    const pool = createPool(configOf(testDb, { maxConns: 1 }));
    const cache = statementCache({ ...options, counters: fakeCounters(counts), logger: recordingLogger(logged) });
    const db = new Kysely<Db>({ dialect: createDialect({ pool, interceptors: [clientSpy(seen), cache] }) });
    const plain = new Kysely<Db>({ dialect: createDialect({ pool }) });
    const h = { pool, db, plain, counts, logged, seen };
    harnesses.push(h);
    return h;
  }

  it('prepares a statement on its first run and reuses it on the next (pg_prepared_statements)', async () => {
    const h = harness();
    const query = h.db.selectFrom('item').select(['id', 'name']).where('id', '=', 1);
    const text = query.compile().sql;
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'one' }]);
    expect(h.counts).to.deep.include({ hit: 0, miss: 1 });
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'one' }]);
    expect(h.counts).to.deep.include({ hit: 1, miss: 1 });
    expect(await preparedOn(h)).to.deep.equal([{ name: statementNameOf(text), statement: text, runs: 2 }]);
    // the plain Kysely looked at the same connection
    expect(await backendPid(h.db)).to.equal(await backendPid(h.plain));
  });

  it('counts hits, misses, evictions and re-prepares exactly, and leaves other statements alone', async () => {
    const h = harness();
    const queries = [
      h.db.selectFrom('item').select('id').where('id', '=', 1),
      h.db.selectFrom('item').select('name').where('id', '=', 2),
      h.db.updateTable('item').set({ name: 'one' }).where('id', '=', 1),
    ];
    for (let round = 0; round < 3; round += 1) {
      for (const query of queries) await query.execute();
    }
    expect(h.counts).to.deep.equal({ hit: 6, miss: 3, evicted: 0, reprepared: 0 });
    // transaction control, DDL, SET, other statements and several statements in one text: not counted, not prepared
    await h.db.transaction().execute(async (trx) => {
      await trx.selectFrom('item').select('id').where('id', '=', 1).execute(); // a hit, inside the transaction
    });
    await h.db.schema.createTable('counted_ddl').addColumn('id', 'integer').execute();
    await sql`set application_name = 'statement-cache-test'`.execute(h.db);
    await sql`show application_name`.execute(h.db);
    await sql.raw('select 1; select 2').execute(h.db);
    expect(h.counts).to.deep.equal({ hit: 7, miss: 3, evicted: 0, reprepared: 0 });
    expect(await preparedCount(h)).to.equal(3);
  });

  it('keeps at most `capacity` statements per connection: 1,000 texts with capacity 50 evict 950', async () => {
    const h = harness({ capacity: 50 });
    let highest = 0;
    for (let i = 0; i < 1000; i += 1) {
      const { rows } = await sql.raw<{ n: number }>(`select ${i}::int as n`).execute(h.db);
      expect(rows).to.deep.equal([{ n: i }]);
      highest = Math.max(highest, await preparedCount(h));
    }
    expect(highest).to.equal(50);
    expect(h.counts).to.deep.equal({ hit: 0, miss: 1000, evicted: 950, reprepared: 0 });
    // the 50 most recent texts are the ones kept
    const kept = (await preparedOn(h)).map((row) => row.statement).sort();
    expect(kept).to.deep.equal(Array.from({ length: 50 }, (_, k) => `select ${950 + k}::int as n`).sort());
    for (let i = 950; i < 1000; i += 1) await sql.raw(`select ${i}::int as n`).execute(h.db);
    expect(h.counts).to.deep.equal({ hit: 50, miss: 1000, evicted: 950, reprepared: 0 });
    // an evicted text is prepared again, pushing out the least recently used one (950)
    await sql.raw('select 0::int as n').execute(h.db);
    expect(h.counts).to.deep.equal({ hit: 50, miss: 1001, evicted: 951, reprepared: 0 });
    const after = (await preparedOn(h)).map((row) => row.statement);
    expect(after).to.have.length(50);
    expect(after).to.include('select 0::int as n');
    expect(after).not.to.include('select 950::int as n');
  });

  it('recovers from ALTER TABLE changing the result type (0A000), invisibly, as a re-prepare', async () => {
    const h = harness();
    await sql`create table thing_alter (id int primary key, name text)`.execute(h.plain);
    await sql`insert into thing_alter values (1, 'a')`.execute(h.plain);
    const query = h.db.selectFrom('thing_alter').selectAll();
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'a' }]);
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'a' }]);
    await sql`alter table thing_alter add column extra int default 7`.execute(h.plain);
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'a', extra: 7 }]);
    expect(h.counts).to.deep.equal({ hit: 2, miss: 1, evicted: 0, reprepared: 1 });
    expect(await query.execute()).to.deep.equal([{ id: 1, name: 'a', extra: 7 }]);
    expect(h.counts).to.deep.equal({ hit: 3, miss: 1, evicted: 0, reprepared: 1 });
    const text = query.compile().sql;
    expect((await preparedOn(h)).filter((row) => row.statement === text)).to.deep.equal([
      { name: statementNameOf(text), statement: text, runs: 2 },
    ]);
  });

  it('recovers from DEALLOCATE ALL (26000), invisibly, as a re-prepare', async () => {
    const h = harness();
    const query = h.db.selectFrom('item').select('name').where('id', '=', 2);
    await query.execute();
    await query.execute();
    await sql`deallocate all`.execute(h.plain);
    expect(await preparedCount(h)).to.equal(0);
    expect(await query.execute()).to.deep.equal([{ name: 'two' }]);
    expect(h.counts).to.deep.equal({ hit: 2, miss: 1, evicted: 0, reprepared: 1 });
    expect(await query.execute()).to.deep.equal([{ name: 'two' }]);
    expect(h.counts).to.deep.equal({ hit: 3, miss: 1, evicted: 0, reprepared: 1 });
    expect(await preparedCount(h)).to.equal(1);
    // and from DISCARD ALL, which also drops them
    await sql`discard all`.execute(h.plain);
    expect(await query.execute()).to.deep.equal([{ name: 'two' }]);
    expect(h.counts.reprepared).to.equal(2);
  });

  it('inside a transaction throws 0A000, and the statement works again after the rollback', async () => {
    const h = harness();
    await sql`create table thing_tx_alter (id int primary key, name text)`.execute(h.plain);
    await sql`insert into thing_tx_alter values (1, 'a')`.execute(h.plain);
    const select = (kysely: Kysely<Db>) => kysely.selectFrom('thing_tx_alter').selectAll().execute();
    await select(h.db);
    await sql`alter table thing_tx_alter add column extra int default 7`.execute(h.plain);
    const error = await failureOf(
      h.db.transaction().execute(async (trx) => {
        await select(trx);
      }),
    );
    expect((error as { code?: string }).code).to.equal('0A000');
    expect(h.counts.reprepared).to.equal(0);
    // the stale statement was closed on the server although the transaction had failed: no 42P05 now
    expect(await select(h.db)).to.deep.equal([{ id: 1, name: 'a', extra: 7 }]);
    expect(h.counts).to.deep.equal({ hit: 1, miss: 2, evicted: 0, reprepared: 0 });
    // and inside a transaction again
    expect(await h.db.transaction().execute((trx) => select(trx))).to.deep.equal([{ id: 1, name: 'a', extra: 7 }]);
  });

  it('inside a transaction throws 26000, and the statement works again after the rollback', async () => {
    const h = harness();
    const select = (kysely: Kysely<Db>) => kysely.selectFrom('item').select('name').where('id', '=', 3).execute();
    await select(h.db);
    const error = await failureOf(
      h.db.transaction().execute(async (trx) => {
        await sql`deallocate all`.execute(trx);
        await select(trx);
      }),
    );
    expect((error as { code?: string }).code).to.equal('26000');
    expect(await select(h.db)).to.deep.equal([{ name: 'three' }]);
    expect(h.counts).to.deep.equal({ hit: 1, miss: 2, evicted: 0, reprepared: 0 });
  });

  it('throws a second failure of the re-run as it is', async () => {
    const h = harness();
    await sql`create table thing_dropped (id int primary key)`.execute(h.plain);
    const query = h.db.selectFrom('thing_dropped').select('id');
    await query.execute();
    // the prepared statement is gone, and so is its table: the re-run fails to prepare
    await sql`deallocate all`.execute(h.plain);
    await sql`drop table thing_dropped`.execute(h.plain);
    const error = await failureOf(query.execute());
    expect((error as { code?: string }).code).to.equal('42P01');
    expect(h.counts).to.deep.include({ reprepared: 1 });
    // nothing is left behind: the text is prepared afresh once the table is back
    await sql`create table thing_dropped (id int primary key)`.execute(h.plain);
    expect(await query.execute()).to.deep.equal([]);
    expect(h.counts).to.deep.include({ miss: 2, reprepared: 1 });
  });

  it('keeps a statement whose execution failed after it was prepared (no leak, no re-prepare)', async () => {
    const h = harness();
    const insert = (id: number) => h.db.insertInto('item').values({ id, name: 'dup' }).execute();
    const error = await failureOf(insert(1)); // unique violation at execution: the statement was prepared
    expect((error as { code?: string }).code).to.equal('23505');
    expect(await preparedCount(h)).to.equal(1);
    await h.db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ id: 100, name: 'dup' }).execute();
      await trx.deleteFrom('item').where('id', '=', 100).execute();
    });
    expect(h.counts).to.deep.equal({ hit: 1, miss: 2, evicted: 0, reprepared: 0 });
    // a statement that cannot even be prepared leaves nothing behind
    const bad = await failureOf(sql`select no_such_column from item`.execute(h.db));
    expect((bad as { code?: string }).code).to.equal('42703');
    expect(await preparedCount(h)).to.equal(2);
  });

  it('passes several statements in one raw text through (simple protocol), and they work', async () => {
    const h = harness();
    const { rows } = await sql.raw<{ b: number }>("select 1 as a; select 2 as b -- done; ';'").execute(h.db);
    expect(rows).to.deep.equal([{ b: 2 }]);
    await sql.raw('insert into scratch values (1); insert into scratch values (2); delete from scratch').execute(h.db);
    expect(h.counts).to.deep.equal({ hit: 0, miss: 0, evicted: 0, reprepared: 0 });
    expect(await preparedCount(h)).to.equal(0);
  });

  it('falls back to the simple protocol when the server sees several statements the scan did not (standard_conforming_strings off)', async () => {
    const h = harness();
    await sql`set standard_conforming_strings = off`.execute(h.plain);
    try {
      // with the setting off, 'a\'' is one literal and the ';' after it separates two statements;
      // the scan (standard strings) sees one unterminated literal, so the cache tries to prepare it
      const text = "select 'a\\'' as x; select 1 as y";
      expect(hasMultipleStatements(text)).to.equal(false);
      const { rows } = await sql.raw<{ y: number }>(text).execute(h.db);
      expect(rows).to.deep.equal([{ y: 1 }]);
      expect(h.counts).to.deep.equal({ hit: 0, miss: 1, evicted: 0, reprepared: 0 });
      expect(await preparedCount(h)).to.equal(0);
      // the text is not named again
      await sql.raw(text).execute(h.db);
      expect(h.counts.miss).to.equal(1);
    } finally {
      await sql`reset standard_conforming_strings`.execute(h.plain);
    }
  });

  it('passes streams through: nothing is prepared or counted', async () => {
    const h = harness();
    const names: string[] = [];
    for await (const row of h.db.selectFrom('item').select('name').orderBy('id').stream(2)) names.push(row.name);
    expect(names).to.deep.equal(['one', 'two', 'three']);
    expect(h.counts).to.deep.equal({ hit: 0, miss: 0, evicted: 0, reprepared: 0 });
    expect(await preparedCount(h)).to.equal(0);
  });

  it('prepares nothing with enabled: false', async () => {
    const h = harness({ enabled: false });
    for (let i = 0; i < 3; i += 1) {
      await h.db.selectFrom('item').selectAll().execute();
      await h.db.updateTable('item').set({ name: 'two' }).where('id', '=', 2).execute();
    }
    expect(h.counts).to.deep.equal({ hit: 0, miss: 0, evicted: 0, reprepared: 0 });
    expect(await preparedCount(h)).to.equal(0);
  });

  it('never uses a name node-postgres already holds for another text on the connection', async () => {
    const h = harness();
    await sql`select 1`.execute(h.db); // lets the spy see the connection's client
    const client = h.seen.client;
    if (client === undefined) throw new Error('the spy saw no client');
    const query = h.db.selectFrom('item').select('id').where('id', '=', 3);
    const text = query.compile().sql;
    await client.query({ name: statementNameOf(text), text: 'select 42 as id' });
    expect(await query.execute()).to.deep.equal([{ id: 3 }]);
    expect(await query.execute()).to.deep.equal([{ id: 3 }]);
    expect(h.counts).to.deep.include({ hit: 0, miss: 1 }); // only `select 1`
  });

  it('gives the same results as without the cache (types, numAffectedRows), on a miss and on a hit', async () => {
    const h = harness();
    // each run leaves the data as it found it (or changes it without changing its own result)
    const runs: ((kysely: Kysely<Db>) => Promise<unknown>)[] = [
      (k) => k.selectFrom('item').selectAll().orderBy('id').execute(),
      (k) => k.selectFrom('item').selectAll().where('id', 'in', [1, 3]).where('tags', 'is not', null).execute(),
      (k) =>
        sql`select ${1}::int2 as a, ${'9007199254740993'}::int8 as b, ${'1.25'}::numeric as c, ${new Date('2024-02-03T04:05:06.789Z')}::timestamptz as d,
          ${JSON.stringify({ x: [1, 2] })}::jsonb as e, ${['p', 'q']}::text[] as f, ${true} as g, ${null}::text as h, ${Buffer.from([1, 2, 3])}::bytea as i,
          '2024-01-02'::date as j, interval '1 day 2 hours' as k, gen_random_uuid() is not null as l`.execute(k),
      (k) => k.updateTable('item').set((eb) => ({ name: eb.ref('name') })).where('id', '<=', 2).executeTakeFirst(),
      (k) => k.insertInto('item').values({ id: 1, name: 'one' }).onConflict((oc) => oc.doNothing()).executeTakeFirst(),
      async (k) => [
        await k.insertInto('scratch').values([{ v: 5 }, { v: 6 }]).executeTakeFirst(),
        await k.deleteFrom('scratch').where('v', 'in', [5, 6]).returning('v').execute(),
      ],
      async (k) => [
        await k.insertInto('scratch').values({ v: 7 }).returningAll().execute(),
        await k.deleteFrom('scratch').where('v', '=', 7).executeTakeFirst(),
      ],
      (k) => k.deleteFrom('item').where('id', '<', 0).executeTakeFirst(),
      (k) => sql`merge into item using (values (${1}::int)) as s(id) on item.id = s.id when matched then update set name = item.name`.execute(k),
      (k) => sql`update item set name = name where id = ${3}`.execute(k),
    ];
    const statements = 12;
    for (const [index, run] of runs.entries()) {
      const expected = await run(h.plain);
      const onMiss = await run(h.db);
      const onHit = await run(h.db);
      expect(onMiss, `statement #${index} on a miss`).to.deep.equal(expected);
      expect(onHit, `statement #${index} on a hit`).to.deep.equal(expected);
    }
    expect(h.counts).to.deep.equal({ hit: statements, miss: statements, evicted: 0, reprepared: 0 });
  });

  it('turns itself off for a connection whose evicted statements cannot be closed (a dead connection)', async () => {
    const h = harness({ capacity: 1 });
    const admin = harness();
    const pid = await backendPid(h.plain);
    const failure = await failureOf(
      h.db.transaction().execute(async (trx) => {
        await sql`select 1 as a`.execute(trx);
        // waits until the backend is gone
        await sql`select pg_terminate_backend(${pid}, 10000)`.execute(admin.plain);
        // one more text must evict the first: its Close cannot be sent on the dead connection
        await sql`select 2 as b`.execute(trx);
      }),
    );
    expect(failure).to.be.instanceOf(Error);
    expect(h.logged.filter((entry) => entry.level === 'warn').map((entry) => entry.message)).to.deep.equal([
      'statement cache: could not close evicted prepared statements; the cache is off for this connection',
    ]);
    expect(h.counts.evicted).to.equal(0);
    // the pool replaced the connection: the cache starts afresh there
    expect((await sql<{ b: number }>`select 2 as b`.execute(h.db)).rows).to.deep.equal([{ b: 2 }]);
    expect(await backendPid(h.plain)).not.to.equal(pid);
    expect(await preparedCount(h)).to.equal(1);
  });
});

describe('plugins: statement cache, against a fake connection', () => {
  interface FakeClient {
    connection: { parsedStatements: Record<string, string>; submittedNamedStatements: Record<string, string>; close(): void; sync(): void } | undefined;
    closed: string[];
    query(command: { submit(connection: unknown): void; handleReadyForQuery(): void }): void;
  }

  function fakeClient(): FakeClient {
    const client: FakeClient = {
      closed: [],
      connection: {
        parsedStatements: {},
        submittedNamedStatements: {},
        close: (message?: unknown) => void client.closed.push((message as { name: string }).name),
        sync: () => undefined,
      } as FakeClient['connection'],
      query(command) {
        command.submit(client.connection);
        command.handleReadyForQuery();
      },
    };
    return client;
  }

  function context(client: FakeClient, overrides: Partial<QueryContext> = {}): QueryContext {
    return {
      queryId: 'q',
      query: undefined,
      mode: 'execute',
      sql: 'select 1',
      parameters: [],
      statementName: undefined,
      operation: 'select',
      tables: [],
      connectionId: 1,
      session: { id: 1, processId: 1, state: sessionState, client: client as unknown as pg.PoolClient },
      inTransaction: false,
      startTime: 0,
      durationMs: undefined,
      rowCount: undefined,
      signal: undefined,
      state: new Map(),
      ...overrides,
    };
  }

  let sessionState: Map<string | symbol, unknown>;
  beforeEach(() => {
    sessionState = new Map();
  });

  const ok: InterceptedResult = { rows: [] };

  /** A `next` that records the statement name of each call and, like node-postgres, its parsed statement. */
  function nextFor(ctx: QueryContext, client: FakeClient, outcomes: (Error | undefined)[], names: (string | undefined)[]) {
    return async (): Promise<InterceptedResult> => {
      names.push(ctx.statementName);
      const outcome = outcomes.shift();
      if (outcome !== undefined) throw outcome;
      if (ctx.statementName !== undefined && client.connection) client.connection.parsedStatements[ctx.statementName] = ctx.sql;
      return ok;
    };
  }

  function pgError(code: string, message: string): Error {
    return Object.assign(new Error(message), { code });
  }

  it('rejects a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => statementCache({ capacity })).to.throw(RangeError);
    }
  });

  it('re-runs once after 26000 and throws the second failure as it is', async () => {
    const counts: Counts = { hit: 0, miss: 0, evicted: 0, reprepared: 0 };
    const cache = statementCache({ counters: fakeCounters(counts) });
    const client = fakeClient();
    const first = context(client);
    await cache.execute!(first, nextFor(first, client, [], []));
    const ctx = context(client);
    const names: (string | undefined)[] = [];
    const second = pgError('26000', 'prepared statement does not exist, again');
    const thrown = await failureOf(cache.execute!(ctx, nextFor(ctx, client, [pgError('26000', 'gone'), second], names)));
    expect(thrown).to.equal(second);
    expect(names).to.deep.equal([statementNameOf('select 1'), statementNameOf('select 1')]);
    expect(counts).to.deep.equal({ hit: 1, miss: 1, evicted: 0, reprepared: 1 });
  });

  it('does not retry an unrelated 0A000', async () => {
    const cache = statementCache();
    const client = fakeClient();
    const ctx = context(client);
    const names: (string | undefined)[] = [];
    const error = pgError('0A000', 'some other feature is not supported');
    expect(await failureOf(cache.execute!(ctx, nextFor(ctx, client, [error], names)))).to.equal(error);
    expect(names).to.have.length(1);
  });

  it('passes through, with one warning, when node-postgres internals are not as expected', async () => {
    const logged: Logged[] = [];
    const cache = statementCache({ logger: recordingLogger(logged) });
    const client = fakeClient();
    client.connection = undefined;
    for (let i = 0; i < 3; i += 1) {
      const ctx = context(client);
      const names: (string | undefined)[] = [];
      await cache.execute!(ctx, nextFor(ctx, client, [], names));
      expect(names).to.deep.equal([undefined]);
    }
    expect(logged.filter((entry) => entry.level === 'warn')).to.have.length(1);
  });

  it('passes through statements another interceptor named, non-data statements and streams', async () => {
    const counts: Counts = { hit: 0, miss: 0, evicted: 0, reprepared: 0 };
    const cache = statementCache({ counters: fakeCounters(counts) });
    const client = fakeClient();
    for (const overrides of [{ statementName: 'mine' }, { operation: 'other' as const, sql: 'begin' }, { operation: 'ddl' as const }, { mode: 'stream' as const }]) {
      const ctx = context(client, overrides);
      const names: (string | undefined)[] = [];
      await cache.execute!(ctx, nextFor(ctx, client, [], names));
      expect(names).to.deep.equal([overrides.statementName]);
    }
    expect(counts).to.deep.equal({ hit: 0, miss: 0, evicted: 0, reprepared: 0 });
  });

  it('closes the least recently used statement before preparing one more', async () => {
    const counts: Counts = { hit: 0, miss: 0, evicted: 0, reprepared: 0 };
    const cache = statementCache({ capacity: 2, counters: fakeCounters(counts) });
    const client = fakeClient();
    for (const text of ['select 1', 'select 2', 'select 1', 'select 3']) {
      const ctx = context(client, { sql: text });
      await cache.execute!(ctx, nextFor(ctx, client, [], []));
    }
    expect(client.closed).to.deep.equal([statementNameOf('select 2')]);
    expect(Object.keys(client.connection?.parsedStatements ?? {}).sort()).to.deep.equal([statementNameOf('select 1'), statementNameOf('select 3')].sort());
    expect(counts).to.deep.equal({ hit: 1, miss: 3, evicted: 1, reprepared: 0 });
  });
});
