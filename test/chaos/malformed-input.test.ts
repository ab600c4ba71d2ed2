/**
 * Chaos: malformed input reaching the driver. Every case must end in an error the caller can
 * classify, and must leave the pool unharmed: the same pool answers `select 1` afterwards with
 * nothing borrowed, and a connection is destroyed only where the error says the session can no
 * longer be trusted (then `destroyedCount.error` shows it).
 *
 * What each case really does with pg 8.23 (pg-protocol 1.16) and PostgreSQL 18, as observed:
 *
 * - `select $1::int` with `'abc'`: the server rejects the text, `pg.DatabaseError` `22P02`
 *   (severity ERROR), kind `data`. The connection stays. PostgreSQL quotes the rejected text in
 *   the message (`invalid input syntax for type integer: "abc"`), and the library passes server
 *   messages through unchanged: a secret sent to a wrongly typed parameter ends up in the message.
 * - Invalid UTF-8: pg sends a `Buffer` as a binary-format parameter; the server's `text` receive
 *   function checks the encoding: `22021` `invalid byte sequence for encoding "UTF8": 0xc3 0x28`
 *   (the offending bytes, not the whole value). `convert_from('\xc328'::bytea, 'UTF8')` gives the
 *   same error from inside the server. Kind `data`; the connection stays.
 * - A NUL character in a text parameter: PostgreSQL text cannot hold `\0`; the server refuses the
 *   parameter with `22021` `invalid byte sequence for encoding "UTF8": 0x00` (typed or not). Kind
 *   `data`; the connection stays; the message does not contain the value.
 * - A 64 MiB text parameter works (its length comes back); the connection stays. (Above 1 GB
 *   PostgreSQL refuses a value; not tried, too expensive.)
 * - Bind parameters: the wire protocol counts them in 16 bits. 65535 work. pg 8.23 does not check
 *   the count: it writes `count & 0xffff`, so 65536 or 70000 parameters produce a malformed Bind
 *   message, which the server answers with `08P01` protocol violation (`bind message supplies 0
 *   parameters, but prepared statement "" requires 65536`, resp. `bind message has 4464 parameter
 *   formats but 0 parameters`). Its severity is ERROR: the server keeps the session (checked below
 *   with a bare client), but `08P01` is class 08, so `classifyError` says `connection`,
 *   `connectionUsable: false`, and the pool destroys the connection on release (conservative:
 *   `destroyedCount.error` would go up by one). The dialect therefore refuses more than 65535
 *   parameters itself, before sending, with `TooManyParametersError` (kind `programming`), and the
 *   connection stays; the bare-client case below keeps pg's own behaviour on record.
 * - A value `JSON.stringify` cannot serialise (a circular object, a BigInt inside an object): pg
 *   serialises parameters while writing the Bind message; the `TypeError` is caught there, pg
 *   sends Close + Sync so the protocol stays in step, and the caller gets the `TypeError`
 *   (`Converting circular structure to JSON…`, `Do not know how to serialize a BigInt`; kind
 *   `internal`). The connection stays. The message names properties, never values. (A bare
 *   BigInt parameter is fine: pg sends its decimal text.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase, exclusiveActive } from './support/chaos-database.js';
import { directConfigInput } from './support/chaos-kit.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { TooManyParametersError } from '../../src/errors/too-many-parameters-error.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import { failureOf } from '../support/failure.js';

/** A value that looks like a credential, unique per call. */
function secretLike(): string {
  return `sk_live_${randomBytes(12).toString('hex')}`;
}

/** Fails when `secret` appears anywhere in the error: message, stack or any own property. */
function expectNotLeaked(error: Error, secret: string): void {
  expect(error.message).to.not.include(secret);
  expect(String(error.stack)).to.not.include(secret);
  expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).to.not.include(secret);
}

describe('chaos: malformed input', function () {
  let server: EmbeddedServer | undefined;
  let database: Database<Record<string, never>> | undefined;

  before(async () => {
    server = await startEmbeddedPostgres();
    // One connection: a backend pid that stays the same proves the connection survived.
    database = chaosDatabase<Record<string, never>>(
      directConfigInput(server, { maxConns: 1, acquireTimeout: 10_000 }),
      { env: {}, poolName: 'malformed' },
    );
  });

  after(async () => {
    await database?.close();
    await server?.stop();
  });

  function db(): Database<Record<string, never>> {
    if (database === undefined) throw new Error('the database was not created');
    return database;
  }

  async function backendPid(): Promise<number> {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db().db);
    const pid = rows[0]?.pid;
    if (typeof pid !== 'number') throw new Error('no backend pid');
    return pid;
  }

  /** The pool before a case: its connection's backend pid and the connections destroyed so far. */
  async function snapshot(): Promise<{ pid: number; destroyed: number }> {
    const pid = await backendPid();
    return { pid, destroyed: db().pool.stats().destroyedCount.error };
  }

  /** The same pool still answers and lends nothing out. */
  async function expectPoolServes(): Promise<void> {
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db().db);
    expect(rows).to.deep.equal([{ one: 1 }]);
    expect(exclusiveActive(db())).to.equal(0);
    expect(db().pool.stats().waiting).to.equal(0);
  }

  /** The case left the connection in place: same session, nothing destroyed. */
  async function expectConnectionSurvived(before: { pid: number; destroyed: number }): Promise<void> {
    await expectPoolServes();
    expect(await backendPid()).to.equal(before.pid);
    expect(db().pool.stats().destroyedCount.error).to.equal(before.destroyed);
  }

  it('wrong parameter type: 22P02 data error, connection kept (the server quotes the rejected text)', async () => {
    const before = await snapshot();
    const error = await failureOf(() => sql`select ${'abc'}::int as n`.execute(db().db));
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).to.equal('22P02');
    expect((error as pg.DatabaseError).severity).to.equal('ERROR');
    // Passed through unchanged: PostgreSQL's own message includes the value it could not parse.
    expect(error.message).to.equal('invalid input syntax for type integer: "abc"');
    expect(classifyError(error)).to.deep.include({ kind: 'data', code: '22P02', retryable: false, connectionUsable: true });
    await expectConnectionSurvived(before);
  });

  it('invalid UTF-8 in a Buffer bound to a text parameter: 22021, connection kept', async () => {
    const before = await snapshot();
    const error = await failureOf(() => sql`select ${Buffer.from([0xc3, 0x28])}::text as t`.execute(db().db));
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).to.equal('22021');
    expect(error.message).to.equal('invalid byte sequence for encoding "UTF8": 0xc3 0x28');
    expect(classifyError(error)).to.deep.include({ kind: 'data', code: '22021', connectionUsable: true });
    await expectConnectionSurvived(before);
  });

  it("invalid UTF-8 decoded by the server (convert_from('\\xc328'::bytea, 'UTF8')): 22021, connection kept", async () => {
    const before = await snapshot();
    const error = await failureOf(() => sql`select convert_from('\\xc328'::bytea, 'UTF8') as t`.execute(db().db));
    expect(error).to.be.instanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).to.equal('22021');
    expect(classifyError(error)).to.deep.include({ kind: 'data', code: '22021', connectionUsable: true });
    await expectConnectionSurvived(before);
  });

  it('a NUL character in a text parameter: 22021, connection kept, value not in the error', async () => {
    const before = await snapshot();
    const secret = secretLike();
    for (const statement of [sql`select ${`${secret}\u0000b`}::text as t`, sql`select length(${`a\u0000${secret}`}) as n`]) {
      const error = await failureOf(() => statement.execute(db().db));
      expect(error).to.be.instanceOf(pg.DatabaseError);
      expect((error as pg.DatabaseError).code).to.equal('22021');
      expect(error.message).to.equal('invalid byte sequence for encoding "UTF8": 0x00');
      expect(classifyError(error)).to.deep.include({ kind: 'data', code: '22021', connectionUsable: true });
      expectNotLeaked(error, secret);
    }
    await expectConnectionSurvived(before);
  });

  it('a 64 MiB text parameter works, connection kept', async () => {
    const before = await snapshot();
    const size = 64 * 1024 * 1024;
    const huge = 'x'.repeat(size);
    const started = performance.now();
    const { rows } = await sql<{ n: number }>`select length(${huge}::text) as n`.execute(db().db);
    console.log(`      64 MiB parameter: round trip ${Math.round(performance.now() - started)} ms`);
    expect(rows).to.deep.equal([{ n: size }]);
    await expectConnectionSurvived(before);
  });

  it('65535 bind parameters (the protocol maximum) work, connection kept', async () => {
    const before = await snapshot();
    const values = Array.from({ length: 65_535 }, (_, i) => i);
    const { rows } = await sql<{ n: number }>`select cardinality(array[${sql.join(values)}]::int[]) as n`.execute(db().db);
    expect(rows).to.deep.equal([{ n: 65_535 }]);
    await expectConnectionSurvived(before);
  });

  for (const count of [65_536, 70_000]) {
    it(`${count} bind parameters: refused before sending with TooManyParametersError, connection kept`, async () => {
      const before = await snapshot();
      const secret = secretLike();
      const values = Array.from({ length: count }, (_, i) => `${secret}-${i}`);
      const error = await failureOf(() => sql`select cardinality(array[${sql.join(values)}]::text[]) as n`.execute(db().db));
      expect(error).to.be.instanceOf(TooManyParametersError);
      expect((error as TooManyParametersError).count).to.equal(count);
      expect(classifyError(error)).to.deep.include({ kind: 'programming', code: 'TOO_MANY_PARAMETERS', retryable: false, connectionUsable: true });
      expectNotLeaked(error, secret);
      await expectConnectionSurvived(before);
    });
  }

  it('after 08P01 from an oversized Bind, the server itself keeps the session (bare pg.Client)', async () => {
    if (server === undefined) throw new Error('no server');
    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
    client.on('error', () => undefined); // a failure shows in the queries below
    await client.connect();
    try {
      const pidOf = async (): Promise<unknown> => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      const pid = await pidOf();
      const values = Array.from({ length: 70_000 }, (_, i) => i);
      const text = `select cardinality(array[${values.map((_, i) => `$${i + 1}`).join(',')}]::int[]) as n`;
      const error = await failureOf(client.query(text, values));
      expect((error as pg.DatabaseError).code).to.equal('08P01');
      expect(await pidOf()).to.equal(pid);
    } finally {
      await client.end();
    }
  });

  it('a circular object as a parameter: TypeError from JSON.stringify reaches the caller, connection kept', async () => {
    const before = await snapshot();
    const secret = secretLike();
    const circular: Record<string, unknown> = { token: secret };
    circular['self'] = circular;
    const error = await failureOf(() => sql`select ${circular}::jsonb as j`.execute(db().db));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.match(/^Converting circular structure to JSON/);
    expect(classifyError(error)).to.deep.include({ kind: 'internal', connectionUsable: true });
    expectNotLeaked(error, secret);
    await expectConnectionSurvived(before);
  });

  it('a BigInt inside an object parameter: TypeError reaches the caller, connection kept', async () => {
    const before = await snapshot();
    const secret = secretLike();
    const error = await failureOf(() => sql`select ${{ token: secret, amount: 10n }}::jsonb as j`.execute(db().db));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal('Do not know how to serialize a BigInt');
    expect(classifyError(error)).to.deep.include({ kind: 'internal', connectionUsable: true });
    expectNotLeaked(error, secret);
    await expectConnectionSurvived(before);
    // A bare BigInt is fine: pg sends its decimal text.
    const { rows } = await sql<{ n: string }>`select ${10n}::int8 as n`.execute(db().db);
    expect(rows).to.deep.equal([{ n: '10' }]);
  });

  it('after the cases above, the pool is intact: one connection, nothing borrowed, none destroyed', async () => {
    await expectPoolServes();
    const stats = db().pool.stats();
    expect(exclusiveActive(db())).to.equal(0);
    expect(stats).to.include({ total: 1, waiting: 0, acquireTimeoutCount: 0, acquireErrorCount: 0, connectErrorCount: 0 });
    // only the oversized Bind cases destroyed a connection
    expect(stats.destroyedCount).to.deep.equal({ idle: 0, lifetime: 0, error: 0, shutdown: 0 });
  });
});
