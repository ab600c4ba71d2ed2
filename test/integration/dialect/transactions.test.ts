import { expect } from 'chai';
import { isAbortedTransactionError, Kysely, sql } from 'kysely';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf, PERSON_SCHEMA, type PersonDatabase } from './dialect-support.js';

describe('dialect: transactions and savepoints', () => {
  let testDb: TestDatabase;
  let db: Kysely<PersonDatabase>;

  const names = async (): Promise<string[]> =>
    (await db.selectFrom('person').select('first_name').orderBy('id').execute()).map((row) => row.first_name);

  before(async () => {
    testDb = await createTestDatabase('dialect transactions');
    db = new Kysely<PersonDatabase>({ dialect: createDialect({ config: configOf(testDb, { maxConns: 2 }) }) });
    await sql.raw(PERSON_SCHEMA).execute(db);
  });

  beforeEach(async () => {
    await sql`truncate person restart identity cascade`.execute(db);
  });

  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('commits the work of a transaction callback', async () => {
    const id = await db.transaction().execute(async (trx) => {
      const { id } = await trx.insertInto('person').values({ first_name: 'Ada' }).returning('id').executeTakeFirstOrThrow();
      await trx.insertInto('pet').values({ owner_id: id, name: 'Byron', species: 'cat' }).execute();
      return id;
    });
    expect(id).to.equal(1);
    expect(await names()).to.deep.equal(['Ada']);
  });

  it('rolls back everything when the callback throws, and rethrows', async () => {
    let failure: unknown;
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('person').values({ first_name: 'Ghost' }).execute();
        throw new Error('changed my mind');
      });
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal('changed my mind');
    expect(await names()).to.deep.equal([]);
  });

  it('runs with the requested isolation level and access mode', async () => {
    const settings = await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const { rows } = await sql<{ iso: string; ro: string }>`select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro`.execute(
          trx,
        );
        return rows[0];
      });
    expect(settings).to.deep.equal({ iso: 'repeatable read', ro: 'on' });
  });

  it('rejects writes in a read-only transaction with SQLSTATE 25006', async () => {
    let failure: unknown;
    try {
      await db
        .transaction()
        .setAccessMode('read only')
        .execute((trx) => trx.insertInto('person').values({ first_name: 'Nope' }).execute());
    } catch (error) {
      failure = error;
    }
    expect((failure as { code?: string }).code).to.equal('25006');
    expect(await names()).to.deep.equal([]);
  });

  it('rolls back to a savepoint and keeps the work before it', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ first_name: 'Kept' }).execute();
    const afterKept = await trx.savepoint('after_kept').execute();
    await afterKept.insertInto('person').values({ first_name: 'Undone' }).execute();
    const rolledBack = await afterKept.rollbackToSavepoint('after_kept').execute();
    await rolledBack.insertInto('person').values({ first_name: 'Added later' }).execute();
    await rolledBack.commit().execute();
    expect(await names()).to.deep.equal(['Kept', 'Added later']);
  });

  it('releases a savepoint and recovers from an error inside one', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ first_name: 'First', email: 'same@example.com' }).execute();
    const sp = await trx.savepoint('attempt').execute();
    let failure: unknown;
    try {
      await sp.insertInto('person').values({ first_name: 'Duplicate', email: 'same@example.com' }).execute();
    } catch (error) {
      failure = error;
    }
    expect((failure as { code?: string }).code).to.equal('23505');
    const recovered = await sp.rollbackToSavepoint('attempt').execute();
    const next = await recovered.savepoint('second').execute();
    await next.insertInto('person').values({ first_name: 'Second' }).execute();
    await (await next.releaseSavepoint('second').execute()).commit().execute();
    expect(await names()).to.deep.equal(['First', 'Second']);
  });

  it('quotes savepoint names like Kysely does', async () => {
    const trx = await db.startTransaction().execute();
    const sp = await trx.savepoint('odd "name"; drop table person').execute();
    await sp.insertInto('person').values({ first_name: 'Safe' }).execute();
    await (await sp.releaseSavepoint('odd "name"; drop table person').execute()).commit().execute();
    expect(await names()).to.deep.equal(['Safe']);
  });

  it('reports a commit the server turned into a rollback as AbortedTransactionError', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ first_name: 'Doomed' }).execute();
    await sql`select 1/0`.execute(trx).catch(() => undefined);
    let failure: unknown;
    try {
      await trx.commit().execute();
    } catch (error) {
      failure = error;
    }
    expect(isAbortedTransactionError(failure)).to.equal(true);
    expect(await names()).to.deep.equal([]);
  });

  it('rolls back a controlled transaction explicitly', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ first_name: 'Temporary' }).execute();
    await trx.rollback().execute();
    expect(trx.isRolledBack).to.equal(true);
    expect(await names()).to.deep.equal([]);
  });

  it('isolates a transaction from other connections until it commits', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ first_name: 'Invisible' }).execute();
    expect(await names()).to.deep.equal([]);
    await trx.commit().execute();
    expect(await names()).to.deep.equal(['Invisible']);
  });
});
