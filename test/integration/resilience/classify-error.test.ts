import { expect } from 'chai';
import pg from 'pg';
import { findFreePort } from '../../../src/embedded/embedded-server.js';
import { classifyError } from '../../../src/resilience/classify-error.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';


describe('classifyError on real PostgreSQL errors', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  before(async () => {
    db = await createTestDatabase('resilience classify');
    const client = await connect();
    await client.query('create table items (id int primary key, v int not null)');
    await client.query('insert into items values (1, 0), (2, 0)');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  });
  after(async () => {
    await db.drop();
  });

  it('23505 unique violation → constraint, connection still usable', async () => {
    const client = await connect();
    const error = await failureOf(client.query('insert into items values (1, 1)'));
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect(classifyError(error)).to.deep.equal({ kind: 'constraint', code: '23505', retryable: false, connectionUsable: true });
    expect((await client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('22012 division by zero → data', async () => {
    const client = await connect();
    const error = await failureOf(client.query('select 1/0'));
    expect(classifyError(error)).to.deep.equal({ kind: 'data', code: '22012', retryable: false, connectionUsable: true });
  });

  it('42601 syntax error → programming', async () => {
    const client = await connect();
    const error = await failureOf(client.query('selec 1'));
    expect(classifyError(error)).to.deep.equal({ kind: 'programming', code: '42601', retryable: false, connectionUsable: true });
  });

  it('57014 statement_timeout → timeout, not retryable, connection still usable', async () => {
    const client = await connect();
    const error = await failureOf(client.query('set statement_timeout = 50; select pg_sleep(1)'));
    expect(classifyError(error)).to.deep.equal({ kind: 'timeout', code: '57014', retryable: false, connectionUsable: true });
    expect((await client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('40001 serialization failure between two SERIALIZABLE transactions → serialization, retryable', async () => {
    const [t1, t2] = [await connect(), await connect()];
    for (const t of [t1, t2]) {
      await t.query('begin isolation level serializable');
      await t.query('select sum(v) from items'); // both read every row…
    }
    await t1.query('update items set v = v + 1 where id = 1'); // …and each writes a row the other read
    const error = await failureOf(
      (async () => {
        await t2.query('update items set v = v + 1 where id = 2');
        await t1.query('commit');
        await t2.query('commit'); // T1 committed first: T2 cannot be serialized after it
      })(),
    );
    await t2.query('rollback').catch(() => undefined);
    expect(classifyError(error)).to.deep.equal({ kind: 'serialization', code: '40001', retryable: true, connectionUsable: true });
  });

  it('40P01 deadlock between two transactions locking rows in opposite order → serialization, retryable', async () => {
    const [t1, t2] = [await connect(), await connect()];
    await t1.query('begin');
    await t2.query('begin');
    await t1.query('update items set v = v + 1 where id = 1');
    await t2.query('update items set v = v + 1 where id = 2');
    const outcomes = await Promise.allSettled([
      t1.query('update items set v = v + 1 where id = 2'),
      t2.query('update items set v = v + 1 where id = 1'),
    ]);
    await Promise.all([t1.query('rollback'), t2.query('rollback')]);
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failures).to.have.length(1);
    expect(classifyError(failures[0]?.reason)).to.deep.equal({
      kind: 'serialization',
      code: '40P01',
      retryable: true,
      connectionUsable: true,
    });
  });

  it('pg_terminate_backend of its own session → connection, not retryable, connection unusable', async () => {
    const client = await connect();
    const error = await failureOf(client.query('select pg_terminate_backend(pg_backend_pid())'));
    const classification = classifyError(error);
    expect(classification).to.include({ kind: 'connection', retryable: false, connectionUsable: false });
    // Depending on timing pg reports the server's 57P01 or its own "Connection terminated…".
    if (error instanceof pg.DatabaseError) expect(classification.code).to.equal('57P01');
  });

  it('a refused connection on a closed port → connection, retryable, connection unusable', async () => {
    const port = await findFreePort(); // nothing listens on it
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'nobody', database: 'none', connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    const error = await failureOf(client.connect());
    expect(classifyError(error)).to.deep.equal({ kind: 'connection', code: 'ECONNREFUSED', retryable: true, connectionUsable: false });
  });
});
