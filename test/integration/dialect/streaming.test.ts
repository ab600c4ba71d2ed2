import { expect } from 'chai';
import { Kysely, sql, type Generated } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf } from './dialect-support.js';

interface NumbersDatabase {
  numbers: { n: Generated<number>; label: string };
}

const ROWS = 2500;

describe('dialect: streaming through pg-cursor', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let db: Kysely<NumbersDatabase>;

  before(async () => {
    testDb = await createTestDatabase('dialect streaming');
    // one connection: a stream that failed to give its connection back would block every later test
    pool = createPool(configOf(testDb, { maxConns: 1, acquireTimeout: '5s' }));
    db = new Kysely<NumbersDatabase>({ dialect: createDialect({ pool }) });
    await sql`create table numbers (n int primary key, label text not null)`.execute(db);
    await sql`insert into numbers select g, 'row ' || g from generate_series(1, ${ROWS}) g`.execute(db);
  });

  after(async () => {
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('streams every row, in order', async () => {
    let expected = 1;
    for await (const row of db.selectFrom('numbers').selectAll().orderBy('n').stream(100)) {
      expect(row).to.deep.equal({ n: expected, label: `row ${expected}` });
      expected += 1;
    }
    expect(expected - 1).to.equal(ROWS);
  });

  it('reads the rows in chunks of the requested size', async () => {
    const compiled = db.selectFrom('numbers').select('n').orderBy('n').compile();
    const sizes: number[] = [];
    for await (const chunk of db.getExecutor().stream(compiled, 1000)) sizes.push(chunk.rows.length);
    expect(sizes).to.deep.equal([1000, 1000, 500]);
  });

  it('releases the connection and closes the portal when the consumer breaks early', async () => {
    let seen = 0;
    for await (const row of db.selectFrom('numbers').select('n').orderBy('n').stream(10)) {
      seen += 1;
      if (row.n === 25) break;
    }
    expect(seen).to.equal(25);
    expect(pool.stats().active).to.equal(0);
    // the single connection is free again and has no open portal left behind
    const { rows } = await sql<{ open: string }>`select count(*) as open from pg_cursors`.execute(db);
    expect(rows).to.deep.equal([{ open: '0' }]);
  });

  it('passes a server error through the iterator and keeps the connection usable', async () => {
    const before = pool.stats().destroyedCount.error;
    let failure: unknown;
    let received = 0;
    try {
      const stream = db
        .selectFrom('numbers')
        .select(sql<number>`10 / (n - 1500)`.as('x'))
        .orderBy('n')
        .stream(100);
      for await (const row of stream) {
        void row;
        received += 1;
      }
    } catch (error) {
      failure = error;
    }
    expect((failure as { code?: string }).code).to.equal('22012');
    expect(received).to.be.lessThan(1500);
    expect(pool.stats().active).to.equal(0);
    expect(pool.stats().destroyedCount.error).to.equal(before);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).to.deep.equal([{ one: 1 }]);
  });

  it('streams inside a transaction', async () => {
    const total = await db.transaction().execute(async (trx) => {
      await trx.insertInto('numbers').values({ n: ROWS + 1, label: 'in trx' }).execute();
      let count = 0;
      for await (const row of trx.selectFrom('numbers').select('n').stream(500)) {
        void row;
        count += 1;
      }
      return count;
    });
    expect(total).to.equal(ROWS + 1);
  });
});
