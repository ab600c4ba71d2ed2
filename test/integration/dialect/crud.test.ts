import { expect } from 'chai';
import { sql, type Kysely } from 'kysely';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf, PERSON_SCHEMA, type PersonDatabase } from './dialect-support.js';

describe('dialect: CRUD through createDatabase', () => {
  let testDb: TestDatabase;
  let database: Database<PersonDatabase>;
  let db: Kysely<PersonDatabase>;

  before(async () => {
    testDb = await createTestDatabase('dialect crud');
    database = createDatabase<PersonDatabase>(configOf(testDb));
    db = database.db;
    await sql.raw(PERSON_SCHEMA).execute(db);
  });

  after(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('inserts with returning and reports numAffectedRows as a bigint', async () => {
    const inserted = await db
      .insertInto('person')
      .values([
        { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', age: 36 },
        { first_name: 'Alan', last_name: 'Turing', email: 'alan@example.com', age: 41 },
      ])
      .returning(['id', 'first_name'])
      .execute();
    expect(inserted.map((row) => row.first_name)).to.deep.equal(['Ada', 'Alan']);
    expect(inserted.every((row) => typeof row.id === 'number')).to.equal(true);

    const result = await db.insertInto('person').values({ first_name: 'Grace', age: 85 }).executeTakeFirstOrThrow();
    expect(result.numInsertedOrUpdatedRows).to.equal(1n);
  });

  it('selects with where, order and join', async () => {
    const ada = await db.selectFrom('person').select('id').where('first_name', '=', 'Ada').executeTakeFirstOrThrow();
    await db.insertInto('pet').values({ owner_id: ada.id, name: 'Byron', species: 'cat' }).execute();
    const rows = await db
      .selectFrom('person')
      .innerJoin('pet', 'pet.owner_id', 'person.id')
      .select(['person.first_name', 'pet.name as pet_name'])
      .orderBy('person.id')
      .execute();
    expect(rows).to.deep.equal([{ first_name: 'Ada', pet_name: 'Byron' }]);
  });

  it('updates and deletes, counting affected rows', async () => {
    const updated = await db.updateTable('person').set({ age: sql<number>`age + 1` }).where('age', '>', 40).executeTakeFirstOrThrow();
    expect(updated.numUpdatedRows).to.equal(2n);
    const deleted = await db.deleteFrom('person').where('first_name', '=', 'Grace').executeTakeFirstOrThrow();
    expect(deleted.numDeletedRows).to.equal(1n);
    const left = await db.selectFrom('person').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(left.n).to.equal('2');
  });

  it('runs raw SQL with parameters', async () => {
    const { rows } = await sql<{ greeting: string }>`select ${'hello'} || ' ' || ${'world'} as greeting`.execute(db);
    expect(rows).to.deep.equal([{ greeting: 'hello world' }]);
  });

  it('closes idempotently, after which the pool refuses work', async () => {
    const other = createDatabase<PersonDatabase>(configOf(testDb));
    await other.db.selectFrom('person').select('id').execute();
    const first = other.close();
    expect(other.close()).to.equal(first);
    await first;
    expect(other.pool.closed).to.equal(true);
    let failure: unknown;
    try {
      await other.db.selectFrom('person').select('id').execute();
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(Error);
  });
});
