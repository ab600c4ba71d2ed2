import { expect } from 'chai';
import { sql, type Compilable, type Generated, type Kysely } from 'kysely';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createResultCache, type ResultCache, type ResultCacheOptions } from '../../../src/plugins/result-cache.js';
import { estimateRowsBytes } from '../../../src/plugins/result-cache-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf, eventually, isRunning } from '../dialect/dialect-support.js';

interface Schema {
  alert: { id: Generated<number>; fingerprint: string; status: string; note: string | null };
  ack: { id: Generated<number>; alert_id: number; by: string };
}

const SCHEMA = `
  create table alert (id serial primary key, fingerprint text not null unique, status text not null, note text);
  create table ack (id serial primary key, alert_id int not null, "by" text not null);
  insert into alert (fingerprint, status) values ('a1', 'open'), ('a2', 'open'), ('a3', 'closed');
  insert into ack (alert_id, "by") values (1, 'ops');
`;

/** Exact counts of what the cache reported. */
interface Counts {
  hit: number;
  miss: number;
  evicted: number;
  invalidated: number;
}

interface Harness {
  readonly cache: ResultCache;
  readonly database: Database<Schema>;
  readonly db: Kysely<Schema>;
  readonly counts: Counts;
  /** How many times a statement with this query's SQL reached the server (seen by an interceptor after the cache's). */
  ran(query: Compilable): number;
}

describe('plugins: result cache', function () {
  let testDb: TestDatabase;
  let opened: Database<Schema>[] = [];

  before(async () => {
    testDb = await createTestDatabase('result cache');
  });

  after(async () => {
    await testDb?.drop();
  });

  beforeEach(async () => {
    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    try {
      await client.query(`drop table if exists alert, ack; ${SCHEMA}`);
    } finally {
      await client.end();
    }
  });

  afterEach(async () => {
    await Promise.all(opened.map((database) => database.close()));
    opened = [];
  });

  function open(options: ResultCacheOptions = {}, extra: readonly QueryInterceptor[] = []): Harness {
    const counts: Counts = { hit: 0, miss: 0, evicted: 0, invalidated: 0 };
    const cache = createResultCache({
      counters: {
        hit: () => void (counts.hit += 1),
        miss: () => void (counts.miss += 1),
        evicted: (count = 1) => void (counts.evicted += count),
        invalidated: (count = 1) => void (counts.invalidated += count),
      },
      ...options,
    });
    const statements: string[] = [];
    const counting: QueryInterceptor = { name: 'count', before: (ctx) => void statements.push(ctx.sql) };
    const database = createDatabase<Schema>(configOf(testDb), { interceptors: [cache.interceptor, counting, ...extra], health: false, metrics: false });
    opened.push(database);
    return {
      cache,
      database,
      db: database.db,
      counts,
      ran: (query) => {
        const text = query.compile().sql;
        return statements.filter((statement) => statement === text).length;
      },
    };
  }

  const openAlerts = (db: Kysely<Schema>) => db.selectFrom('alert').selectAll().where('status', '=', 'open').orderBy('id');

  it('answers the second identical call from the cache, without a server round trip', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    const first = await cache.execute(db, query);
    const second = await cache.execute(db, openAlerts(db));
    expect(first.map((row) => row.fingerprint)).to.deep.equal(['a1', 'a2']);
    expect(second).to.deep.equal(first);
    expect(ran(query)).to.equal(1);
    expect(counts).to.deep.equal({ hit: 1, miss: 1, evicted: 0, invalidated: 0 });
  });

  it('gives every caller its own rows: mutating them does not change the cache', async () => {
    const { cache, db, ran } = open();
    const first = await cache.execute(db, openAlerts(db));
    first[0]!.status = 'mutated';
    first.push(first[0]!);
    const second = await cache.execute(db, openAlerts(db));
    expect(second.map((row) => row.status)).to.deep.equal(['open', 'open']);
    expect(ran(openAlerts(db))).to.equal(1);
  });

  it('expires entries after their time to live', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    await cache.execute(db, query, { ttlMs: 50 });
    let calls = 1;
    await eventually(async () => {
      calls += 1;
      await cache.execute(db, openAlerts(db), { ttlMs: 50 });
      return ran(query) === 2;
    });
    expect(counts).to.deep.equal({ hit: calls - 2, miss: 2, evicted: 1, invalidated: 0 });
  });

  for (const [label, write] of [
    ['an insert', (db: Kysely<Schema>) => db.insertInto('alert').values({ fingerprint: 'a4', status: 'open' }).execute()],
    ['an update', (db: Kysely<Schema>) => db.updateTable('alert').set({ status: 'closed' }).where('fingerprint', '=', 'a1').execute()],
    ['a delete', (db: Kysely<Schema>) => db.deleteFrom('alert').where('fingerprint', '=', 'a2').execute()],
  ] as const) {
    it(`invalidates on ${label} into the table read, not on a write to another table`, async () => {
      const { cache, db, counts, ran } = open();
      const query = openAlerts(db);
      const before = await cache.execute(db, query);
      await db.insertInto('ack').values({ alert_id: 2, by: 'dev' }).execute();
      expect(await cache.execute(db, openAlerts(db))).to.deep.equal(before);
      expect(ran(query)).to.equal(1);
      await write(db);
      const after = await cache.execute(db, openAlerts(db));
      expect(ran(query)).to.equal(2);
      expect(after).to.deep.equal(await openAlerts(db).execute());
      expect(after).to.not.deep.equal(before);
      expect(counts).to.deep.equal({ hit: 1, miss: 2, evicted: 0, invalidated: 1 });
    });
  }

  it('invalidates a read through a subquery or a join when the inner table is written', async () => {
    const { cache, db, counts, ran } = open();
    const acked = db
      .selectFrom('alert')
      .select('fingerprint')
      .where('id', 'in', (eb) => eb.selectFrom('ack').select('alert_id'))
      .orderBy('fingerprint');
    const joined = db.selectFrom('alert').innerJoin('ack', 'ack.alert_id', 'alert.id').select(['alert.fingerprint', 'ack.by']).orderBy('ack.id');
    expect(await cache.execute(db, acked)).to.deep.equal([{ fingerprint: 'a1' }]);
    expect(await cache.execute(db, joined)).to.deep.equal([{ fingerprint: 'a1', by: 'ops' }]);
    await db.insertInto('ack').values({ alert_id: 3, by: 'dev' }).execute();
    expect(await cache.execute(db, acked)).to.deep.equal([{ fingerprint: 'a1' }, { fingerprint: 'a3' }]);
    expect(await cache.execute(db, joined)).to.deep.equal([
      { fingerprint: 'a1', by: 'ops' },
      { fingerprint: 'a3', by: 'dev' },
    ]);
    expect([ran(acked), ran(joined)]).to.deep.equal([2, 2]);
    expect(counts).to.deep.equal({ hit: 0, miss: 4, evicted: 0, invalidated: 2 });
  });

  it('invalidates everything on a raw SQL write, and a read with raw SQL in its FROM on any write', async () => {
    const { cache, db, counts, ran } = open();
    const alerts = openAlerts(db);
    const acks = db.selectFrom('ack').selectAll().orderBy('id');
    const opaque = db.selectFrom(sql<{ n: number }>`(select count(*)::int as n from ack)`.as('c')).select('c.n');
    await cache.execute(db, alerts);
    await cache.execute(db, acks);
    await cache.execute(db, opaque);
    // a write to alert: the opaque read (tables unknown) goes, the read of ack stays
    await db.updateTable('alert').set({ note: 'x' }).where('id', '=', 3).execute();
    expect(counts.invalidated).to.equal(2);
    await cache.execute(db, acks);
    expect(ran(acks)).to.equal(1);
    await cache.execute(db, alerts);
    await cache.execute(db, opaque);
    await sql`update ack set "by" = 'raw'`.execute(db);
    expect(counts.invalidated).to.equal(5);
    expect((await cache.execute(db, acks)).map((row) => row.by)).to.deep.equal(['raw']);
    await cache.execute(db, alerts);
    expect([ran(alerts), ran(acks), ran(opaque)]).to.deep.equal([3, 2, 2]);
    expect(counts).to.deep.equal({ hit: 1, miss: 7, evicted: 0, invalidated: 5 });
  });

  it('neither answers nor fills from inside a transaction', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    await cache.execute(db, query);
    await db.transaction().execute(async (trx) => {
      expect(await cache.execute(trx, openAlerts(trx))).to.have.length(2);
      expect(await cache.execute(trx, openAlerts(trx))).to.have.length(2);
    });
    expect(ran(query)).to.equal(3);
    expect(counts).to.deep.equal({ hit: 0, miss: 1, evicted: 0, invalidated: 0 });
    // nothing was filled from the transaction: after clearing, the first call outside misses
    await cache.clear();
    await db.transaction().execute((trx) => cache.execute(trx, openAlerts(trx)));
    await cache.execute(db, query);
    expect(ran(query)).to.equal(5);
    expect(counts).to.deep.equal({ hit: 0, miss: 2, evicted: 0, invalidated: 0 });
  });

  it('does not fill from a transaction block begun by hand on a connection', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    await db.connection().execute(async (conn) => {
      await sql`begin`.execute(conn);
      await conn.insertInto('alert').values({ fingerprint: 'uncommitted', status: 'open' }).execute();
      expect(await cache.execute(conn, openAlerts(conn))).to.have.length(3);
      await sql`rollback`.execute(conn);
    });
    const rows = await cache.execute(db, query);
    expect(rows.map((row) => row.fingerprint)).to.deep.equal(['a1', 'a2']);
    expect(ran(query)).to.equal(2);
    expect(counts).to.deep.equal({ hit: 0, miss: 2, evicted: 0, invalidated: 0 });
  });

  it('invalidates a transaction’s writes when they run and again when it commits', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    await cache.execute(db, query);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('alert').values({ fingerprint: 'a4', status: 'open' }).execute();
      expect(counts.invalidated).to.equal(1);
      // another connection does not see the insert yet, and caches what it sees
      expect(await cache.execute(db, openAlerts(db))).to.have.length(2);
      expect(await cache.execute(db, openAlerts(db))).to.have.length(2);
    });
    expect(await cache.execute(db, openAlerts(db))).to.have.length(3);
    expect(ran(query)).to.equal(3);
    expect(counts).to.deep.equal({ hit: 1, miss: 3, evicted: 0, invalidated: 2 });
  });

  it('sends one query for 50 concurrent identical misses, and every caller gets the rows', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.execute(db, openAlerts(db))));
    expect(ran(query)).to.equal(1);
    for (const rows of results) expect(rows.map((row) => row.fingerprint)).to.deep.equal(['a1', 'a2']);
    expect(new Set(results).size).to.equal(50);
    expect(counts).to.deep.equal({ hit: 49, miss: 1, evicted: 0, invalidated: 0 });
  });

  it('does not let a caller join an execution started before an invalidation of its tables, nor store that execution', async () => {
    const { cache, db, counts, ran } = open();
    const slow = () => db.selectFrom('alert').select(['fingerprint', sql<string>`pg_advisory_xact_lock(4242)::text`.as('locked')]).orderBy('id');
    const locker = new pg.Client({ connectionString: testDb.url });
    await locker.connect();
    try {
      await locker.query('select pg_advisory_lock(4242)');
      const early = cache.execute(db, slow());
      await eventually(() => isRunning(testDb, 'select "fingerprint", pg_advisory_xact_lock'));
      await db.insertInto('alert').values({ fingerprint: 'a4', status: 'open' }).execute();
      const late = cache.execute(db, slow());
      await eventually(async () => ran(slow()) === 2);
      await locker.query('select pg_advisory_unlock(4242)');
      // the early statement took its snapshot before the insert: storing its rows would cache stale data
      expect(await early).to.have.length(3);
      expect(await late).to.have.length(4);
    } finally {
      await locker.end();
    }
    // the late execution was stored, the early one was not (it could have read before the insert)
    expect(await cache.execute(db, slow())).to.have.length(4);
    expect(ran(slow())).to.equal(2);
    expect(counts).to.deep.equal({ hit: 1, miss: 2, evicted: 0, invalidated: 0 });
  });

  it('does not cache errors: each failing call reaches the server; concurrent ones share the failure', async () => {
    const { cache, db, counts, ran } = open();
    const failing = () => db.selectFrom('alert').select(sql<number>`1 / 0`.as('boom'));
    for (let i = 0; i < 2; i += 1) {
      const error = await cache.execute(db, failing()).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect((error as { code?: unknown }).code).to.equal('22012');
    }
    expect(ran(failing())).to.equal(2);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => cache.execute(db, failing())));
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(Array(5).fill('rejected'));
    expect(ran(failing())).to.equal(3);
    expect(counts).to.deep.equal({ hit: 0, miss: 3, evicted: 0, invalidated: 0 });
  });

  it('invalidates on a write that failed too (its outcome may be unknown)', async () => {
    const { cache, db, counts, ran } = open();
    const query = openAlerts(db);
    await cache.execute(db, query);
    const failed = await db
      .insertInto('alert')
      .values({ fingerprint: 'a1', status: 'open' })
      .execute()
      .then(
        () => false,
        () => true,
      );
    expect(failed).to.equal(true);
    await cache.execute(db, query);
    expect(ran(query)).to.equal(2);
    expect(counts).to.deep.equal({ hit: 0, miss: 2, evicted: 0, invalidated: 1 });
  });

  it('keeps at most maxEntries entries, evicting the least recently used', async () => {
    const { cache, db, counts, ran } = open({ maxEntries: 3 });
    const byId = (id: number) => db.selectFrom('alert').select('fingerprint').where('id', '=', id);
    for (const id of [1, 2, 3, 4, 5]) await cache.execute(db, byId(id));
    expect(counts.evicted).to.equal(2);
    for (const id of [3, 4, 5]) await cache.execute(db, byId(id));
    expect(counts.hit).to.equal(3);
    await cache.execute(db, byId(1));
    expect(ran(byId(1))).to.equal(5 + 1);
    expect(counts).to.deep.equal({ hit: 3, miss: 6, evicted: 3, invalidated: 0 });
  });

  it('keeps at most maxBytes estimated bytes, and never stores a result larger than that', async () => {
    const { cache, db, counts, ran } = open({ maxBytes: 50_000 });
    await db.updateTable('alert').set({ note: sql`repeat('x', 10000)` }).execute();
    const noteOf = (id: number) => db.selectFrom('alert').select('note').where('id', '=', id);
    const rows = await cache.execute(db, noteOf(1));
    const size = estimateRowsBytes(rows);
    expect(size).to.be.above(20_000).and.below(21_000);
    await cache.execute(db, noteOf(2));
    expect(counts.evicted).to.equal(0);
    await cache.execute(db, noteOf(3));
    expect(counts.evicted).to.equal(1);
    await cache.execute(db, noteOf(3));
    await cache.execute(db, noteOf(2));
    await cache.execute(db, noteOf(1));
    expect(ran(noteOf(1))).to.equal(4);
    expect(counts).to.deep.equal({ hit: 2, miss: 4, evicted: 2, invalidated: 0 });

    const huge = db.selectNoFrom(sql<string>`repeat('y', 100000)`.as('y'));
    await cache.execute(db, huge);
    await cache.execute(db, huge);
    expect(ran(huge)).to.equal(2);
    expect(counts).to.deep.equal({ hit: 2, miss: 6, evicted: 4, invalidated: 0 });
  });

  it('gives parameters of different types different keys', async () => {
    const { cache, db, counts } = open();
    const echo = (value: unknown) => db.selectNoFrom(sql<string>`${value}::text`.as('v'));
    const pairs: [unknown, unknown][] = [
      [1, '1'],
      [10n, 10],
      [null, 'null'],
      [new Date('2024-01-02T03:04:05.678Z'), new Date('2024-01-02T03:04:05.679Z')],
      [Buffer.from('abc'), 'abc'],
      [true, 'true'],
    ];
    for (const [a, b] of pairs) {
      await cache.execute(db, echo(a));
      await cache.execute(db, echo(b));
      await cache.execute(db, echo(a));
      await cache.execute(db, echo(b));
    }
    expect(counts).to.deep.equal({ hit: 2 * pairs.length, miss: 2 * pairs.length, evicted: 0, invalidated: 0 });
  });

  it('just runs what is not a plain read, without caching or counting it', async () => {
    const { cache, db, counts } = open();
    const insert = () => db.insertInto('alert').values({ fingerprint: `f${Math.random()}`, status: 'new' }).returning('id');
    await cache.execute(db, insert());
    await cache.execute(db, insert());
    const deleting = () => db.with('gone', (qc) => qc.deleteFrom('ack').returning('id')).selectFrom('gone').selectAll();
    expect(await cache.execute(db, deleting())).to.have.length(1);
    expect(await cache.execute(db, deleting())).to.have.length(0);
    expect(await db.selectFrom('alert').select('id').where('status', '=', 'new').execute()).to.have.length(2);
    expect(counts).to.deep.equal({ hit: 0, miss: 0, evicted: 0, invalidated: 0 });
  });

  it('invalidate(tables) drops what depends on them, invalidate() everything, clear() without counting', async () => {
    const { cache, db, counts, ran } = open();
    const alerts = openAlerts(db);
    const acks = db.selectFrom('ack').selectAll();
    await cache.execute(db, alerts);
    await cache.execute(db, acks);
    await cache.invalidate(['public.ack']);
    await cache.invalidate([]);
    expect(counts.invalidated).to.equal(1);
    await cache.execute(db, alerts);
    await cache.execute(db, acks);
    expect([ran(alerts), ran(acks)]).to.deep.equal([1, 2]);
    await cache.invalidate();
    expect(counts.invalidated).to.equal(3);
    await cache.execute(db, alerts);
    await cache.clear();
    await cache.execute(db, alerts);
    expect(ran(alerts)).to.equal(3);
    expect(counts).to.deep.equal({ hit: 1, miss: 5, evicted: 0, invalidated: 3 });
  });

  it('refuses a query that did not go through its interceptor', async () => {
    const cache = createResultCache();
    const database = createDatabase<Schema>(configOf(testDb), { health: false, metrics: false });
    opened.push(database);
    const error = await cache.execute(database.db, openAlerts(database.db)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/cache\.interceptor/);
  });

  it('reports into the metrics registry through metrics.resultCache(poolName)', async () => {
    const metrics = createMetrics();
    const cache = createResultCache({ counters: metrics.resultCache('cached'), maxEntries: 1 });
    const database = createDatabase<Schema>(configOf(testDb), { interceptors: [cache.interceptor], health: false, metrics, poolName: 'cached' });
    opened.push(database);
    const { db } = database;
    await cache.execute(db, openAlerts(db));
    await cache.execute(db, openAlerts(db));
    await cache.execute(db, db.selectFrom('ack').selectAll());
    await cache.execute(db, db.selectFrom('ack').selectAll());
    await db.deleteFrom('ack').execute();
    const value = async (registry: Registry, name: string): Promise<number | undefined> => {
      const metric = registry.getSingleMetric(name);
      const got = (await metric?.get()) as { values: { value: number; labels: Record<string, unknown> }[] } | undefined;
      return got?.values.find((v) => v.labels.pool === 'cached')?.value;
    };
    expect(await value(metrics.registry, 'db_client_result_cache_hits_total')).to.equal(2);
    expect(await value(metrics.registry, 'db_client_result_cache_misses_total')).to.equal(2);
    expect(await value(metrics.registry, 'db_client_result_cache_evictions_total')).to.equal(1);
    expect(await value(metrics.registry, 'db_client_result_cache_invalidations_total')).to.equal(1);
  });
});
