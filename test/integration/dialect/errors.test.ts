import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf, PERSON_SCHEMA, type PersonDatabase } from './dialect-support.js';
import { failureOf } from '../../support/failure.js';


describe('dialect: server errors', () => {
  let testDb: TestDatabase;
  let pool: InstrumentedPool;
  let db: Kysely<PersonDatabase>;

  before(async () => {
    testDb = await createTestDatabase('dialect errors');
    pool = createPool(configOf(testDb, { maxConns: 1 }));
    db = new Kysely<PersonDatabase>({ dialect: createDialect({ pool }) });
    await sql.raw(PERSON_SCHEMA).execute(db);
    await db.insertInto('person').values({ first_name: 'Ada', email: 'ada@example.com' }).execute();
  });

  after(async () => {
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('keeps a unique violation a pg.DatabaseError with code, constraint, table and detail', async () => {
    const error = await failureOf(() => db.insertInto('person').values({ first_name: 'Copy', email: 'ada@example.com' }).execute());
    expect(error).to.be.instanceOf(pg.DatabaseError);
    const dbError = error as pg.DatabaseError;
    expect(dbError.code).to.equal('23505');
    expect(dbError.constraint).to.equal('person_email_key');
    expect(dbError.table).to.equal('person');
    expect(dbError.detail).to.equal('Key (email)=(ada@example.com) already exists.');
  });

  it('reports a syntax error as 42601 with its position', async () => {
    const error = await failureOf(() => sql`selec 1`.execute(db));
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).to.equal('42601');
    expect((error as pg.DatabaseError).position).to.equal('1');
  });

  it('reports a foreign key violation as 23503 with its constraint', async () => {
    const error = await failureOf(() => db.insertInto('pet').values({ owner_id: 999, name: 'Stray', species: 'dog' }).execute());
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).to.equal('23503');
    expect((error as pg.DatabaseError).constraint).to.equal('pet_owner_id_fkey');
  });

  it("extends the stack with the caller's frames", async function callerFrame() {
    const error = await failureOf(() => sql`select * from no_such_table`.execute(db));
    expect((error as pg.DatabaseError).code).to.equal('42P01');
    expect(error.stack).to.include('errors.test.ts');
  });

  it('keeps the connection after statement errors (they are not fatal)', async () => {
    const { rows: before } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    await failureOf(() => sql`select 1/0`.execute(db));
    await failureOf(() => db.insertInto('person').values({ first_name: 'Copy', email: 'ada@example.com' }).execute());
    const { rows: after } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    expect(after).to.deep.equal(before);
    expect(pool.stats().destroyedCount.error).to.equal(0);
  });

  it('never puts the password in an error', async () => {
    const config = configOf(testDb, { database: 'no_such_database_here', password: 'wrong-secret-value', maxConns: 1 });
    const wrong = new Kysely<PersonDatabase>({ dialect: createDialect({ config }) });
    try {
      const error = await failureOf(() => sql`select 1`.execute(wrong));
      // refused: bad password (28P01) where the server checks it, else the missing database (3D000)
      expect(['28P01', '3D000']).to.include((error as { code?: string }).code);
      expect(String(error.stack)).to.not.include('wrong-secret-value');
      expect(error.message).to.not.include('wrong-secret-value');
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).to.not.include('wrong-secret-value');
    } finally {
      await wrong.destroy();
    }
  });
});
