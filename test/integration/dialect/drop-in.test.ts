import { expect } from 'chai';
import { CompiledQuery, Kysely, PostgresDialect, sql, type Generated } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf } from './dialect-support.js';

interface SampleTable {
  id: Generated<number>;
  label: string;
  amount: string | null;
  big: string | null;
  day: Date | null;
  at: Date | null;
  doc: unknown;
  docb: unknown;
  tags: string[] | null;
  scores: number[] | null;
  active: boolean | null;
  blob: Buffer | null;
  uid: string | null;
  span: unknown;
  ratio: number | null;
}

interface CategoryTable {
  id: Generated<number>;
  sample_id: number;
  name: string;
}

interface SampleDatabase {
  sample: SampleTable;
  category: CategoryTable;
}

const SCHEMA = `
  create table sample (
    id serial primary key,
    label text not null unique,
    amount numeric(12, 3),
    big bigint,
    day date,
    at timestamptz,
    doc json,
    docb jsonb,
    tags text[],
    scores int[],
    active boolean,
    blob bytea,
    uid uuid,
    span interval,
    ratio double precision
  );
  create table category (
    id serial primary key,
    sample_id int not null references sample(id) on delete cascade,
    name text not null
  );
  insert into sample (label, amount, big, day, at, doc, docb, tags, scores, active, blob, uid, span, ratio) values
    ('a', 12.5, 9007199254740993, '2024-02-29', '2024-02-29 12:34:56.789+02', '{"x": 1}', '{"b": [1, 2], "a": null}',
     '{one,two}', '{1,2,3}', true, '\\xdeadbeef', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:03:04', 1.5),
    ('b', -0.001, -42, '1999-12-31', '1999-12-31 23:59:59+00', '[1, "two"]', '{"nested": {"deep": true}}',
     '{}', '{}', false, '\\x', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '3 months', 0),
    ('c', null, null, null, null, null, null, null, null, null, null, null, null, null);
  insert into category (sample_id, name) values (1, 'red'), (1, 'green'), (2, 'red');
`;

type Outcome = { readonly ok: unknown } | { readonly error: { readonly name: string; readonly code: unknown; readonly constraint: unknown } };

type Scenario = (db: Kysely<SampleDatabase>) => Promise<unknown>;

/** Every scenario runs on both dialects, in this order, each on its own identical database. */
const SCENARIOS: ReadonlyArray<readonly [string, Scenario]> = [
  ['select all columns', (db) => db.selectFrom('sample').selectAll().orderBy('id').execute()],
  [
    'join and aggregate',
    (db) =>
      db
        .selectFrom('sample')
        .leftJoin('category', 'category.sample_id', 'sample.id')
        .select(({ fn }) => [
          'sample.label',
          fn.count<string>('category.id').as('categories'),
          fn.sum<string>('sample.amount').as('total'),
          fn.max('sample.at').as('latest'),
          fn.min('sample.day').as('first_day'),
          sql<string[]>`array_agg(category.name order by category.name)`.as('names'),
        ])
        .groupBy('sample.label')
        .orderBy('sample.label')
        .execute(),
  ],
  [
    'aggregates of numeric and bigint',
    (db) =>
      db
        .selectFrom('sample')
        .select(({ fn }) => [fn.sum<string>('big').as('big_sum'), fn.avg<string>('amount').as('avg'), fn.countAll<string>().as('n')])
        .execute(),
  ],
  [
    'insert returning every type',
    (db) =>
      db
        .insertInto('sample')
        .values({
          label: 'd',
          amount: '3.250',
          big: '123456789012345',
          day: new Date(2020, 0, 15),
          at: new Date('2021-06-01T10:00:00.123Z'),
          doc: JSON.stringify({ k: 'v' }),
          docb: JSON.stringify({ list: [true, null, 1.5] }),
          tags: ['x', 'y z', 'q"uote'],
          scores: [7, 8],
          active: true,
          blob: Buffer.from([0, 1, 2, 255]),
          uid: 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13',
          span: '2 hours 30 minutes',
          ratio: 2.75,
        })
        .returningAll()
        .execute(),
  ],
  ['insert result without returning', (db) => db.insertInto('category').values({ sample_id: 1, name: 'blue' }).executeTakeFirst()],
  ['update result', (db) => db.updateTable('sample').set({ active: false }).where('active', 'is not', null).executeTakeFirst()],
  ['update returning', (db) => db.updateTable('sample').set({ ratio: 9.5 }).where('label', '=', 'a').returning(['id', 'ratio']).execute()],
  ['delete result', (db) => db.deleteFrom('category').where('name', '=', 'red').executeTakeFirst()],
  [
    'raw sql with parameters',
    async (db) =>
      (
        await sql<{ s: number; t: Date; j: unknown; arr: number[] }>`select ${1}::int + ${2}::int as s, ${new Date('2022-01-01T00:00:00Z')}::timestamptz as t, ${JSON.stringify({ a: 1 })}::jsonb as j, ${[1, 2]}::int[] as arr`.execute(
          db,
        )
      ).rows,
  ],
  ['raw write: whole QueryResult', (db) => db.executeQuery(CompiledQuery.raw('update sample set big = big + 1 where big is not null'))],
  ['raw select: whole QueryResult', (db) => db.executeQuery(CompiledQuery.raw('select label, uid from sample where id = $1', [2]))],
  ['raw ddl: whole QueryResult', (db) => db.executeQuery(CompiledQuery.raw('create index sample_day on sample (day)'))],
  ['introspection', (db) => db.introspection.getTables()],
  [
    'transaction commits',
    (db) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('category').values({ sample_id: 2, name: 'in-trx' }).execute();
        return trx.selectFrom('category').select(['sample_id', 'name']).orderBy('id').execute();
      }),
  ],
  [
    'transaction rolls back on error',
    (db) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto('category').values({ sample_id: 2, name: 'lost' }).execute();
        throw new Error('undo');
      }),
  ],
  [
    'serializable read-only transaction',
    (db) =>
      db
        .transaction()
        .setIsolationLevel('serializable')
        .setAccessMode('read only')
        .execute(async (trx) => (await sql<{ level: string }>`show transaction_isolation`.execute(trx)).rows),
  ],
  [
    'controlled transaction with savepoints',
    async (db) => {
      const trx = await db.startTransaction().execute();
      await trx.insertInto('category').values({ sample_id: 1, name: 'kept' }).execute();
      const afterKept = await trx.savepoint('after_kept').execute();
      await afterKept.insertInto('category').values({ sample_id: 1, name: 'undone' }).execute();
      const back = await afterKept.rollbackToSavepoint('after_kept').execute();
      const released = await (await back.savepoint('again').execute()).releaseSavepoint('again').execute();
      await released.commit().execute();
      return db.selectFrom('category').select('name').where('name', 'in', ['kept', 'undone']).execute();
    },
  ],
  [
    'commit of an aborted controlled transaction',
    async (db) => {
      const trx = await db.startTransaction().execute();
      await sql`select 1/0`.execute(trx).catch(() => undefined);
      await trx.commit().execute();
    },
  ],
  ['unique violation', (db) => db.insertInto('sample').values({ label: 'a' }).execute()],
  ['syntax error', (db) => sql`selec 1`.execute(db)],
  [
    'stream in chunks',
    async (db) => {
      const chunks: unknown[] = [];
      for await (const row of db.selectFrom('sample').select(['id', 'label', 'docb', 'blob']).orderBy('id').stream(2)) chunks.push(row);
      return chunks;
    },
  ],
  ['final state', (db) => db.selectFrom('sample').selectAll().orderBy('id').execute()],
];

async function runAll(db: Kysely<SampleDatabase>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const [, scenario] of SCENARIOS) {
    try {
      outcomes.push({ ok: await scenario(db) });
    } catch (error) {
      const { name, code, constraint } = error as { name: string; code?: unknown; constraint?: unknown };
      outcomes.push({ error: { name, code, constraint } });
    }
  }
  return outcomes;
}

describe('dialect: drop-in equivalence with PostgresDialect', () => {
  let reference: TestDatabase;
  let ours: TestDatabase;
  let expected: Outcome[];
  let actual: Outcome[];

  before(async () => {
    reference = await createTestDatabase('dropin reference');
    ours = await createTestDatabase('dropin ours');
    const referenceDb = new Kysely<SampleDatabase>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: reference.url }), cursor: Cursor }),
    });
    const ourDb = new Kysely<SampleDatabase>({ dialect: createDialect({ config: configOf(ours) }) });
    try {
      await sql.raw(SCHEMA).execute(referenceDb);
      await sql.raw(SCHEMA).execute(ourDb);
      expected = await runAll(referenceDb);
      actual = await runAll(ourDb);
    } finally {
      await referenceDb.destroy();
      await ourDb.destroy();
    }
  });

  after(async () => {
    await reference?.drop();
    await ours?.drop();
  });

  for (const [index, [name]] of SCENARIOS.entries()) {
    it(`gives the same outcome: ${name}`, () => {
      expect(actual[index]).to.deep.equal(expected[index]);
    });
  }

  it('covers successes and the expected failures', () => {
    const failures = expected.flatMap((outcome, index) => ('error' in outcome ? [[SCENARIOS[index]?.[0], outcome.error]] : []));
    expect(failures).to.deep.equal([
      ['transaction rolls back on error', { name: 'Error', code: undefined, constraint: undefined }],
      ['commit of an aborted controlled transaction', { name: 'AbortedTransactionError', code: undefined, constraint: undefined }],
      ['unique violation', { name: 'error', code: '23505', constraint: 'sample_label_key' }],
      ['syntax error', { name: 'error', code: '42601', constraint: undefined }],
    ]);
  });
});
