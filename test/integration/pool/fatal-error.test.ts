import { expect } from 'chai';
import pg from 'pg';
import { findFreePort } from '../../../src/embedded/embedded-server.js';
import { isFatalConnectionError } from '../../../src/pool/fatal-error.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

/** The error `sql` raises on a fresh connection to `db`. */
async function serverError(db: TestDatabase, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error(`expected ${sql} to fail`);
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('isFatalConnectionError', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('pool fatal');
  });
  after(async () => {
    await db.drop();
  });

  it('is false for errors that leave the session usable (real server errors)', async () => {
    const errors = await Promise.all([
      serverError(db, 'select * from no_such_table'), // 42P01
      serverError(db, 'select 1/0'), // 22012
      serverError(db, "set statement_timeout = 50; select pg_sleep(2)"), // 57014
      serverError(db, "select pg_advisory_unlock_all(), 'x'::int"), // 22P02
    ]);
    for (const error of errors) expect(isFatalConnectionError(error), String(error)).to.equal(false);
  });

  it('is true for a session terminated by the server (57P01, FATAL)', async () => {
    const error = await serverError(db, 'select pg_terminate_backend(pg_backend_pid())');
    expect(isFatalConnectionError(error), String(error)).to.equal(true);
  });

  it('is true for a connection refused at connect time', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await findFreePort(), connectionTimeoutMillis: 5000 });
    const error = await client.connect().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).to.have.property('code', 'ECONNREFUSED');
    expect(isFatalConnectionError(error)).to.equal(true);
  });

  it('recognises connection SQLSTATEs, socket codes and node-postgres messages, also when wrapped', () => {
    for (const code of ['08000', '08003', '08006', '08P01', '57P01', '57P02', '57P03', '25P03', '53300']) {
      expect(isFatalConnectionError(withCode('server said so', code)), code).to.equal(true);
    }
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ERR_STREAM_DESTROYED']) {
      expect(isFatalConnectionError(withCode('socket', code)), code).to.equal(true);
    }
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated',
      'Connection terminated due to connection timeout',
      'Client has encountered a connection error and is not queryable',
      'Client was closed and is not queryable',
      'Query read timeout',
    ]) {
      expect(isFatalConnectionError(new Error(message)), message).to.equal(true);
    }
    expect(isFatalConnectionError(new Error('query failed', { cause: withCode('x', 'ECONNRESET') }))).to.equal(true);
    expect(isFatalConnectionError(new AggregateError([new Error('a'), withCode('b', '08006')]))).to.equal(true);
    expect(isFatalConnectionError(Object.assign(new Error('bye'), { severity: 'FATAL', code: 'XX000' }))).to.equal(true);
  });

  it('is false for everything else', () => {
    for (const value of [undefined, null, 'Connection terminated', 42, {}, new Error('boom'), withCode('dup', '23505'), withCode('ser', '40001')]) {
      expect(isFatalConnectionError(value), String(value)).to.equal(false);
    }
  });
});
