import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import type { PostgresConfigInput } from '../../../src/config/postgres-config.js';
import { currentActor, withActor } from '../../../src/plugins/actor-context.js';
import { auditLog, createAuditLogger, type AuditLogOptions, type AuditRecord, type AuditSink } from '../../../src/plugins/audit-log.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { failureOf } from '../../support/failure.js';
import { configOf, eventually, type PersonDatabase } from '../dialect/dialect-support.js';

interface AuditDatabase {
  person: PersonDatabase['person'];
  staging: {
    id: number;
    first_name: string;
    last_name: string | null;
    email: string | null;
  };
}

const SCHEMA = `
  create table person (
    id serial primary key,
    first_name text not null,
    last_name text,
    email text unique,
    age int
  );
  create table staging (
    id int primary key,
    first_name text not null,
    last_name text,
    email text
  );
`;

const R = '[REDACTED]';

/** A sink that keeps its records. */
function keeping(records: AuditRecord[]): AuditSink {
  return { write: (record) => void records.push(record) };
}

/** `$n` → column of an `insert into t (c1, c2…) values ($1, default…), (…)` as compiled, from the SQL text alone. */
function insertPlaceholderColumns(text: string): Map<number, string> {
  const match = /\(([^)]*)\) values (.*)$/.exec(text);
  expect(match, text).to.not.equal(null);
  const columns = (match?.[1] ?? '').split(', ').map((column) => column.replace(/"/g, ''));
  const byPlaceholder = new Map<number, string>();
  for (const row of (match?.[2] ?? '').matchAll(/\(([^()]*)\)/g)) {
    (row[1] ?? '').split(', ').forEach((item, i) => {
      const placeholder = /^\$(\d+)$/.exec(item);
      if (placeholder) byPlaceholder.set(Number(placeholder[1]), columns[i] ?? '?');
    });
  }
  return byPlaceholder;
}

describe('plugins: audit log', () => {
  let testDb: TestDatabase;
  let plain: Database<AuditDatabase>;
  const open: Database<AuditDatabase>[] = [];

  /** A database whose only interceptor (besides query timing) is the audit log. */
  function audited(options: AuditLogOptions, overrides: PostgresConfigInput = {}): Database<AuditDatabase> {
    const database = createDatabase<AuditDatabase>(configOf(testDb, overrides), { interceptors: [auditLog(options)], health: false });
    open.push(database);
    return database;
  }

  before(async () => {
    testDb = await createTestDatabase('plugins audit log');
    plain = createDatabase<AuditDatabase>(configOf(testDb), { health: false });
    await sql.raw(SCHEMA).execute(plain.db);
  });

  beforeEach(async () => {
    await sql`truncate person, staging restart identity`.execute(plain.db);
    await sql`drop table if exists audit_extra`.execute(plain.db);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((database) => database.close()));
  });

  after(async () => {
    await plain?.close();
    await testDb?.drop();
  });

  it('records each kind of write exactly once after it settles, and no select', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records) });
    const step = async (work: () => Promise<unknown>): Promise<AuditRecord[]> => {
      const from = records.length;
      await work();
      return records.slice(from);
    };

    const startedAt = Date.now();
    const [insert] = await step(() => db.insertInto('person').values([{ first_name: 'A' }, { first_name: 'B', age: 7 }]).execute());
    const endedAt = Date.now();
    expect(insert).to.include({ actor: null, operation: 'insert', rowCount: 2, outcome: 'success', inTransaction: false });
    expect(insert?.tables).to.deep.equal(['person']);
    expect(insert?.sql).to.equal('insert into "person" ("first_name", "age") values ($1, default), ($2, $3)');
    expect(insert).to.not.have.property('parameters');
    expect(insert).to.not.have.property('error');
    expect(Object.keys(insert ?? {})).to.deep.equal([
      'time', 'actor', 'operation', 'tables', 'rowCount', 'durationMs', 'outcome', 'queryId', 'connectionId', 'inTransaction', 'sql',
    ]);
    const time = Date.parse(insert?.time ?? '');
    expect(insert?.time).to.equal(new Date(time).toISOString());
    expect(time).to.be.within(startedAt, endedAt);
    expect(insert?.durationMs).to.be.a('number').and.at.least(0);
    expect(insert?.queryId).to.be.a('string').and.not.equal('');
    expect(insert?.connectionId).to.be.a('number');
    expect(Object.isFrozen(insert)).to.equal(true);

    const updates = await step(() => db.updateTable('person').set({ last_name: 'X' }).where('first_name', 'in', ['A', 'B']).execute());
    expect(updates).to.have.length(1);
    expect(updates[0]).to.include({ operation: 'update', rowCount: 2, outcome: 'success' });
    expect(updates[0]?.tables).to.deep.equal(['person']);

    const deletes = await step(() => db.deleteFrom('person').where('first_name', '=', 'B').execute());
    expect(deletes).to.have.length(1);
    expect(deletes[0]).to.include({ operation: 'delete', rowCount: 1 });
    expect(deletes[0]?.tables).to.deep.equal(['person']);

    await plain.db.insertInto('staging').values([{ id: 1, first_name: 'A2' }, { id: 9, first_name: 'Z' }]).execute();
    const merges = await step(() =>
      db
        .mergeInto('person')
        .using('staging', 'staging.id', 'person.id')
        .whenMatched()
        .thenUpdateSet((eb) => ({ first_name: eb.ref('staging.first_name') }))
        .whenNotMatched()
        .thenInsertValues((eb) => ({ first_name: eb.ref('staging.first_name') }))
        .execute(),
    );
    expect(merges).to.have.length(1);
    expect(merges[0]).to.include({ operation: 'merge', rowCount: 2 });
    expect(merges[0]?.tables).to.deep.equal(['person', 'staging']);

    expect(await step(() => db.selectFrom('person').selectAll().execute())).to.deep.equal([]);
    expect(await step(() => sql`select count(*) from staging`.execute(db))).to.deep.equal([]);
    const streamedSelect = await step(async () => {
      for await (const row of db.selectFrom('person').select('id').stream()) expect(row.id).to.be.a('number');
    });
    expect(streamedSelect).to.deep.equal([]);

    const truncates = await step(() => sql`truncate table staging`.execute(db));
    expect(truncates).to.have.length(1);
    expect(truncates[0]).to.include({ operation: 'ddl', rowCount: null, outcome: 'success', sql: 'truncate table staging' });
    expect(truncates[0]?.tables).to.deep.equal([]);

    const creates = await step(() => db.schema.createTable('audit_extra').addColumn('id', 'integer').execute());
    expect(creates).to.have.length(1);
    expect(creates[0]).to.include({ operation: 'ddl', rowCount: null });
    expect(creates[0]?.tables).to.deep.equal(['audit_extra']);

    const alters = await step(() => db.schema.alterTable('audit_extra').addColumn('note', 'text').execute());
    expect(alters).to.have.length(1);
    expect(alters[0]).to.include({ operation: 'ddl', sql: 'alter table "audit_extra" add column "note" text' });
    expect(alters[0]?.tables).to.deep.equal(['audit_extra']);

    const raw = await step(() => sql`insert into person (first_name) values (${'raw'}), (${'raw2'})`.execute(db));
    expect(raw).to.have.length(1);
    expect(raw[0]).to.include({ operation: 'insert', rowCount: 2 });
    expect(raw[0]?.tables).to.deep.equal([]);

    expect(records.map((record) => record.operation)).to.deep.equal(['insert', 'update', 'delete', 'merge', 'ddl', 'ddl', 'ddl', 'insert']);
  });

  it('records a write in a select’s with clause, and a write run as a stream', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records) });
    const rows = await db
      .with('added', (qb) => qb.insertInto('person').values({ first_name: 'cte' }).returning('id'))
      .selectFrom('added')
      .selectAll()
      .execute();
    expect(rows).to.have.length(1);
    expect(records).to.have.length(1);
    expect(records[0]).to.include({ operation: 'insert', rowCount: 1, outcome: 'success' });
    expect(records[0]?.tables).to.include('person');

    const streamed: unknown[] = [];
    for await (const row of db.insertInto('person').values([{ first_name: 's1' }, { first_name: 's2' }]).returning('id').stream()) streamed.push(row);
    expect(streamed).to.have.length(2);
    expect(records).to.have.length(2);
    expect(records[1]).to.include({ operation: 'insert', rowCount: 2, outcome: 'success' });
  });

  it('records failed writes with the error kind, code and a redacted message; the caller gets the original error', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records) });
    await db.insertInto('person').values({ first_name: 'A', email: 'a@example.com' }).execute();

    const duplicate = await failureOf(db.insertInto('person').values({ first_name: 'B', email: 'a@example.com' }).execute());
    expect((duplicate as Error & { code?: string }).code).to.equal('23505');
    expect(records).to.have.length(2);
    expect(records[1]).to.include({ operation: 'insert', outcome: 'error', rowCount: null });
    expect(records[1]?.error).to.deep.equal({ kind: 'constraint', code: '23505', message: duplicate.message });
    expect(records[1]?.durationMs).to.be.a('number');

    const badData = await failureOf(sql`insert into person (first_name, age) values ('x', 'password=hunter2'::int)`.execute(db));
    expect((badData as Error & { code?: string }).code).to.equal('22P02');
    expect(records[2]).to.include({ outcome: 'error' });
    expect(records[2]?.error).to.include({ kind: 'data', code: '22P02' });
    expect(records[2]?.error?.message).to.include('password=***').and.not.include('hunter2');
    expect(records[2]?.sql).to.include('password=***').and.not.include('hunter2');

    const missing = await failureOf(sql`delete from no_such_table`.execute(db));
    expect((missing as Error & { code?: string }).code).to.equal('42P01');
    expect(records[3]).to.include({ operation: 'delete', outcome: 'error' });
    expect(records[3]?.error).to.include({ kind: 'programming', code: '42P01' });

    // a failed select is not a write
    await failureOf(sql`select * from no_such_table`.execute(db));
    expect(records).to.have.length(4);
  });

  it('keeps each concurrent caller’s actor with its own statements (50 callers, random delays, some in transactions)', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records), includeParameters: true }, { maxConns: 4 });
    const callers = Array.from({ length: 50 }, (_, i) =>
      withActor(`user-${i}`, async () => {
        await delay(Math.floor(Math.random() * 15));
        if (i % 3 === 0) {
          await db.transaction().execute(async (trx) => {
            await delay(Math.floor(Math.random() * 5));
            await trx.insertInto('person').values({ first_name: `user-${i}`, age: i }).execute();
          });
        } else {
          await db.insertInto('person').values({ first_name: `user-${i}`, age: i }).execute();
        }
        expect(currentActor()).to.equal(`user-${i}`);
      }),
    );
    await Promise.all(callers);

    expect(records).to.have.length(50);
    for (const record of records) {
      expect(record.parameters?.[0], JSON.stringify(record)).to.equal(record.actor);
      const i = Number(String(record.actor).slice('user-'.length));
      expect(record.parameters?.[1]).to.equal(i);
      expect(record.inTransaction, JSON.stringify(record)).to.equal(i % 3 === 0);
    }
    expect(new Set(records.map((record) => record.actor)).size).to.equal(50);
    const rows = await plain.db.selectFrom('person').select('first_name').execute();
    expect(rows.map((row) => row.first_name).sort()).to.deep.equal(Array.from({ length: 50 }, (_, i) => `user-${i}`).sort());
  });

  it('uses the innermost actor of nested withActor calls, and none outside', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records), includeParameters: true });
    const insert = (name: string) => db.insertInto('person').values({ first_name: name }).execute();
    const service = { id: 'svc-billing', kind: 'service' };

    await withActor('outer', async () => {
      await insert('a');
      await withActor(service, async () => {
        expect(currentActor()).to.deep.equal({ id: 'svc-billing', kind: 'service' });
        service.kind = 'changed after withActor';
        await insert('b');
      });
      await insert('c');
      const inner = withActor('inner', () => insert('d'));
      const sibling = insert('e');
      await Promise.all([inner, sibling]);
      expect(currentActor()).to.equal('outer');
    });
    expect(currentActor()).to.equal(undefined);
    await insert('f');

    const actorOf = new Map(records.map((record) => [record.parameters?.[0], record.actor]));
    expect(Object.fromEntries(actorOf)).to.deep.equal({
      a: 'outer',
      b: { id: 'svc-billing', kind: 'service' },
      c: 'outer',
      d: 'inner',
      e: 'outer',
      f: null,
    });
    expect(Object.isFrozen(records[1]?.actor)).to.equal(true);

    expect(() => withActor('', () => undefined)).to.throw(TypeError);
    expect(() => withActor({ id: 42 } as unknown as string, () => undefined)).to.throw(TypeError);
    expect(() => withActor(null as unknown as string, () => undefined)).to.throw(TypeError);
  });

  it('redacts the values of configured columns in multi-row inserts, updates, upserts and merges', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records), includeParameters: true, redactColumns: ['EMAIL', 'person.last_name'] });

    await db
      .insertInto('person')
      .values([
        { first_name: 'A', email: 'a@example.com', age: 1, last_name: 'L1' },
        { first_name: 'B', email: 'b@example.com', age: 2, last_name: 'L2' },
        { first_name: 'C', email: 'c@example.com', age: 3, last_name: 'L3' },
      ])
      .execute();
    const multi = records[0];
    expect(multi?.parameters).to.deep.equal(['A', R, 1, R, 'B', R, 2, R, 'C', R, 3, R]);
    // the positions agree with the compiled SQL's $n order
    const columns = insertPlaceholderColumns(multi?.sql ?? '');
    expect(columns.size).to.equal(12);
    for (const [placeholder, column] of columns) {
      expect(multi?.parameters?.[placeholder - 1] === R, `$${placeholder} (${column})`).to.equal(column === 'email' || column === 'last_name');
    }

    // rows with different keys: `default` takes no parameter
    await db.insertInto('person').values([{ first_name: 'D', email: 'd@example.com' }, { first_name: 'E', age: 5 }]).execute();
    expect(records[1]?.sql).to.equal('insert into "person" ("first_name", "email", "age") values ($1, $2, default), ($3, default, $4)');
    expect(records[1]?.parameters).to.deep.equal(['D', R, 'E', 5]);

    // an expression computing a redacted column, and an upsert's set
    await db
      .insertInto('person')
      .values({ first_name: 'F', email: sql<string>`lower(${'F@Example.com'})` })
      .onConflict((oc) => oc.column('email').doUpdateSet({ email: 'f2@example.com', age: 6 }).where('person.age', '>', 100))
      .returning('id')
      .execute();
    expect(records[2]?.parameters).to.deep.equal(['F', R, R, 6, 100]);

    await db.updateTable('person').set({ email: 'z@example.com', age: 30, last_name: 'Q' }).where('first_name', '=', 'A').execute();
    expect(records[3]?.sql).to.equal('update "person" set "email" = $1, "age" = $2, "last_name" = $3 where "first_name" = $4');
    expect(records[3]?.parameters).to.deep.equal([R, 30, R, 'A']);

    await db.updateTable('person as p').set('last_name', 'Aliased').set({ age: (eb) => eb('age', '+', 1) }).where('p.id', '=', 1).execute();
    expect(records[4]?.parameters).to.deep.equal([R, 1, 1]);

    // `last_name` is only redacted in person; `email` everywhere
    await db.insertInto('staging').values({ id: 1, first_name: 'S', last_name: 'Kept', email: 's@example.com' }).execute();
    expect(records[5]?.parameters).to.deep.equal([1, 'S', 'Kept', R]);

    await db
      .mergeInto('person')
      .using('staging', 'staging.id', 'person.id')
      .whenMatched()
      .thenUpdateSet({ email: 'm@example.com', age: 5 })
      .whenNotMatched()
      .thenInsertValues({ first_name: 'N', email: 'n@example.com', last_name: 'NL' })
      .execute();
    expect(records[6]?.parameters).to.deep.equal([R, 5, 'N', R, R]);

    // raw SQL cannot be mapped: its parameters are kept
    await sql`update person set email = ${'raw@example.com'} where id = ${2}`.execute(db);
    expect(records[7]?.parameters).to.deep.equal(['raw@example.com', 2]);

    expect(records).to.have.length(8);
    for (const record of records) expect(Object.isFrozen(record.parameters)).to.equal(true);
  });

  it('with redactUnmapped, also redacts parameters bound to no column; without includeParameters there are none', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records), includeParameters: true, redactColumns: ['email'], redactUnmapped: true });
    await db.insertInto('person').values({ first_name: 'A', email: 'a@example.com', last_name: sql<string>`upper(${'x'})` }).execute();
    expect(records[0]?.parameters).to.deep.equal(['A', R, R]);
    await db.updateTable('person').set({ email: 'z@example.com', age: 30 }).where('first_name', '=', 'A').execute();
    expect(records[1]?.parameters).to.deep.equal([R, 30, R]);
    await sql`update person set age = ${31} where first_name = ${'A'}`.execute(db);
    expect(records[2]?.parameters).to.deep.equal([R, R]);

    const hidden: AuditRecord[] = [];
    const other = audited({ sink: keeping(hidden), redactColumns: ['email'] });
    await other.db.insertInto('person').values({ first_name: 'B', email: 'b@example.com' }).execute();
    expect(hidden).to.have.length(1);
    expect(hidden[0]).to.not.have.property('parameters');
    expect(JSON.stringify(hidden[0])).to.not.include('b@example.com');
  });

  it('marks the records of statements inside a transaction, and records neither begin nor commit', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records) });
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ first_name: 'T' }).execute();
      await trx.updateTable('person').set({ age: 1 }).execute();
      await trx.selectFrom('person').selectAll().execute();
    });
    await db.deleteFrom('person').execute();
    expect(records.map((record) => [record.operation, record.inTransaction])).to.deep.equal([
      ['insert', true],
      ['update', true],
      ['delete', false],
    ]);
    expect(records[0]?.connectionId).to.equal(records[1]?.connectionId);
  });

  it('audits only the configured operations, and rejects invalid options', async () => {
    const records: AuditRecord[] = [];
    const { db } = audited({ sink: keeping(records), operations: ['select'] });
    await db.insertInto('person').values([{ first_name: 'A' }, { first_name: 'B' }]).execute();
    await db.selectFrom('person').selectAll().execute();
    expect(records).to.have.length(1);
    expect(records[0]).to.include({ operation: 'select', rowCount: 2 });

    expect(() => auditLog({ sink: keeping([]), operations: ['bogus' as 'select'] })).to.throw(TypeError, /bogus/);
    expect(() => auditLog({ sink: keeping([]), operations: [] })).to.throw(TypeError);
    expect(() => auditLog({ sink: {} as AuditSink })).to.throw(TypeError, /sink/);
    expect(() => auditLog({ sink: keeping([]), redactColumns: [''] })).to.throw(TypeError);
    expect(() => auditLog({ sink: keeping([]), maxSqlLength: -1 })).to.throw(TypeError);
    expect(() => auditLog({ sink: createAuditLogger({ stream: new PassThrough() }), level: 'loud' })).to.throw(TypeError, /level/);
    expect(() => createAuditLogger({ level: 'loud' })).to.throw(TypeError);
    expect(() => createAuditLogger({ file: '' })).to.throw(TypeError);
  });

  it('createAuditLogger writes one JSON record per line to a file and to a stream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'audit-log-'));
    const file = join(dir, 'nested', 'audit.log');
    const output = new PassThrough();
    let streamed = '';
    output.on('data', (chunk: Buffer) => (streamed += chunk.toString('utf8')));
    const fileLogger = createAuditLogger({ file });
    const streamLogger = createAuditLogger({ stream: output });
    try {
      const first = audited({ sink: fileLogger, includeParameters: true, redactColumns: ['email'] });
      const second = audited({ sink: streamLogger });
      await withActor({ id: 'file-user', role: 'admin' }, async () => {
        await first.db.insertInto('person').values({ first_name: 'J', email: 'j@example.com' }).execute();
        await first.db.selectFrom('person').selectAll().execute();
        await first.db.updateTable('person').set({ age: 4 }).where('first_name', '=', 'J').execute();
        await sql`comment on table person is 'password=hunter2'`.execute(second.db);
      });

      let lines: string[] = [];
      await eventually(async () => {
        const text = await readFile(file, 'utf8').catch(() => '');
        lines = text.split('\n').filter((line) => line !== '');
        return lines.length >= 2;
      });
      expect(lines).to.have.length(2);
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(Object.keys(parsed[0] ?? {})[0]).to.equal('time');
      expect(parsed[0]).to.not.have.property('level');
      expect(parsed[0]).to.not.have.property('message');
      expect(parsed[0]).to.deep.include({
        actor: { id: 'file-user', role: 'admin' },
        operation: 'insert',
        tables: ['person'],
        rowCount: 1,
        outcome: 'success',
        parameters: ['J', R],
      });
      expect(parsed[1]).to.deep.include({ operation: 'update', rowCount: 1, parameters: [4, 'J'] });

      await eventually(async () => streamed.endsWith('\n'));
      const streamLines = streamed.split('\n').filter((line) => line !== '');
      expect(streamLines).to.have.length(1);
      const comment = JSON.parse(streamLines[0] ?? '{}') as Record<string, unknown>;
      expect(comment).to.deep.include({ operation: 'ddl', actor: { id: 'file-user', role: 'admin' } });
      expect(comment.sql).to.equal("comment on table person is 'password=***");

      // a path that cannot be opened fails at once, not silently later
      expect(() => createAuditLogger({ file: dir })).to.throw(Error).with.property('code', 'EISDIR');
    } finally {
      fileLogger.close();
      streamLogger.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the statement’s outcome when the sink throws, and reports the first failure once', async () => {
    const lost: (AuditRecord | undefined)[] = [];
    const logged: { message: string; meta: Record<string, unknown> | undefined }[] = [];
    const logger = {
      error: (message: string, meta?: Record<string, unknown>) => void logged.push({ message, meta }),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
    };
    const sink: AuditSink = {
      write: () => {
        throw new Error('audit disk full');
      },
    };
    const { db } = audited({ sink, logger, onSinkError: (_error, record) => void lost.push(record) });

    const inserted = await db.insertInto('person').values({ first_name: 'A', email: 'a@example.com' }).returning('id').executeTakeFirstOrThrow();
    expect(inserted.id).to.equal(1);
    const duplicate = await failureOf(db.insertInto('person').values({ first_name: 'B', email: 'a@example.com' }).execute());
    expect((duplicate as Error & { code?: string }).code).to.equal('23505');
    await db.updateTable('person').set({ age: 3 }).execute();

    expect(lost.map((record) => record?.outcome)).to.deep.equal(['success', 'error', 'success']);
    expect(logged).to.have.length(1);
    expect(logged[0]?.meta).to.include({ error: 'Error: audit disk full', operation: 'insert' });
    const rows = await plain.db.selectFrom('person').select(['first_name', 'age']).execute();
    expect(rows).to.deep.equal([{ first_name: 'A', age: 3 }]);

    // a sink whose promise rejects: not awaited, reported the same way
    const rejected: unknown[] = [];
    const asyncSink = { write: () => Promise.reject(new Error('async sink down')) } as unknown as AuditSink;
    const other = audited({ sink: asyncSink, logger, onSinkError: (error) => void rejected.push(error) });
    await other.db.deleteFrom('person').execute();
    await eventually(async () => rejected.length === 1);
    expect(String(rejected[0])).to.include('async sink down');

    // a winston sink's `error` event (a failing transport) is handled, not an unhandled event
    const transportErrors: [unknown, AuditRecord | undefined][] = [];
    const winstonSink = createAuditLogger({ stream: new PassThrough() });
    audited({ sink: winstonSink, logger, onSinkError: (error, record) => void transportErrors.push([error, record]) });
    winstonSink.emit('error', new Error('transport down'));
    expect(transportErrors).to.have.length(1);
    expect(String(transportErrors[0]?.[0])).to.include('transport down');
    expect(transportErrors[0]?.[1]).to.equal(undefined);
    winstonSink.close();
  });
});
