/**
 * The programs in examples/ run as a user runs them (`node --import tsx examples/x.ts`, which is
 * what `npx tsx examples/x.ts` does), each against a fresh database of the run's server, so that
 * they cannot rot: exit status 0, the lines that show what happened, no credentials in the output,
 * and the database left as they found it. (`npm run typecheck` type-checks them.)
 */
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { cleanEnv, runTsx, type ProcessRun } from '../../support/child-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

/** Runs `examples/<file>` from the repository root. */
function runExample(file: string, env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runTsx(join('examples', file), [], env, 100_000);
}

/** Runs the example against `db` and checks what every example must do. */
async function runOn(db: TestDatabase, file: string): Promise<string> {
  const run = await runExample(file, cleanEnv({ DATABASE_URL: db.url }));
  expect(run.code, `${file} exited with ${run.code}:\n${run.stdout}\n${run.stderr}`).to.equal(0);
  expect(run.stderr, file).to.equal('');
  expect(run.stdout).to.match(/^server: the server named by DATABASE_URL\n/);
  expect(run.stdout).to.match(/\ndone\n$/);
  expect(run.stdout).to.not.include(db.url);
  if (db.password !== undefined && db.password !== '') expect(run.stdout).to.not.include(db.password);
  return run.stdout;
}

/** Runs `text` on `db` and returns the rows. */
async function query<T extends pg.QueryResultRow>(db: TestDatabase, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** The rows left in the alert tables. */
async function alertRows(db: TestDatabase): Promise<number> {
  const rows = await query<{ n: number }>(db, 'select (select count(*) from alert_events)::int + (select count(*) from alerts)::int as n');
  return rows[0]?.n ?? -1;
}

describe('examples/: every program runs against a fresh database (node --import tsx examples/x.ts)', function () {
  this.timeout(240_000);
  const databases: TestDatabase[] = [];

  async function freshDatabase(label: string): Promise<TestDatabase> {
    const db = await createTestDatabase(`examples ${label}`);
    databases.push(db);
    return db;
  }

  after(async () => {
    for (const db of databases) await db.drop();
  });

  it('typed-queries.ts migrates, writes and reads typed rows in transactions, cleans up; a second run finds nothing to migrate', async () => {
    const db = await freshDatabase('typed');
    const first = await runOn(db, 'typed-queries.ts');
    expect(first).to.include('\nmigrate: 3 migration(s) applied, schema version 3\n');
    expect(first).to.match(/\ntransaction 1: example-[0-9a-f]{8} firing \(alert_events \+ alerts\)\n/);
    expect(first).to.match(/\ntransaction 2: example-[0-9a-f]{8} resolved\n/);
    expect(first).to.include('\nre-sent firing state: 0 row(s) inserted\n');
    expect(first).to.match(/\nhistory: firing alertname=DiskFull starts_at=\S+Z ends_at=null\nhistory: resolved alertname=DiskFull starts_at=\S+Z ends_at=\S+Z\n/);
    expect(first).to.match(/\ncurrent state: resolved, 1 firing episode\(s\), first seen \S+Z\n/);
    expect(first).to.include('\nevents by status: firing=1, resolved=1\n');
    expect(first).to.include('\ncleanup: 2 event(s) and the alert row deleted\n');
    expect(await alertRows(db)).to.equal(0);

    const second = await runOn(db, 'typed-queries.ts');
    expect(second).to.include('\nmigrate: 0 migration(s) applied, schema version 3\n');
    expect(second).to.include('\nevents by status: firing=1, resolved=1\n');
    expect(await alertRows(db)).to.equal(0);
  });

  it('custom-interceptor.ts: the comment reaches the server, the counts include the failed insert', async () => {
    const db = await freshDatabase('interceptor');
    const out = await runOn(db, 'custom-interceptor.ts');
    expect(out).to.include('\nthe server received: /* app=alert-history-examples */ select current_query() as text\n');
    expect(out).to.include('\ninserted and read back 3 events\n');
    expect(out).to.include('\nduplicate insert refused: constraint 23505\n');
    expect(out).to.include('\n  alert_events insert: 2 statement(s), 3 row(s), 1 failed\n');
    expect(out).to.include('\n  alert_events select: 1 statement(s), 3 row(s), 0 failed\n');
    expect(out).to.include('\n  alert_events delete: 1 statement(s), 3 row(s), 0 failed\n');
    expect(await alertRows(db)).to.equal(0);
  });

  it('audit-actor.ts: two concurrent actors, each write recorded with its own actor, the cleanup with none', async () => {
    const db = await freshDatabase('audit');
    const out = await runOn(db, 'audit-actor.ts');
    expect(out).to.include('\naudit records: 5\n');
    const records = out.split('\n').filter((line) => line.startsWith('  actor='));
    expect(records).to.have.length(5);
    const alice = records.filter((line) => line.startsWith('  actor={"id":"alice","requestId":"req-'));
    const service = records.filter((line) => line.startsWith('  actor={"id":"svc-escalation","kind":"service"} '));
    expect(alice.map((line) => / (insert alert_events rows=\S+ \w+)/.exec(line)?.[1]).sort()).to.deep.equal([
      'insert alert_events rows=1 success',
      'insert alert_events rows=null error',
    ]);
    expect(alice.find((line) => line.includes(' error '))).to.include(' error (constraint 23505) ');
    expect(service.map((line) => / ((?:insert|update) alert_events rows=\S+ \w+)/.exec(line)?.[1]).sort()).to.deep.equal([
      'insert alert_events rows=1 success',
      'update alert_events rows=1 success',
    ]);
    expect(records.filter((line) => line.startsWith('  actor=null delete alert_events rows=2 success '))).to.have.length(1);
    // redactColumns: ['annotations'] on the inserts and the update
    for (const line of [...alice, ...service]) expect(line).to.include('"[REDACTED]"').and.not.include('runbook');
    expect(await alertRows(db)).to.equal(0);
  });

  it('migration-workflow.ts: create, validate, up, status, down, down-to 0 with its own goose_db_version, then drops its schema', async () => {
    const db = await freshDatabase('migration workflow');
    const out = await runOn(db, 'migration-workflow.ts');
    expect(out).to.include('\ncreated 00001_create_silences.sql (-- +goose Up, -- +goose Down)\ncreated 00002_index_silences_by_end.sql\n');
    expect(out).to.include('\nstatus before:\n  Pending  00001_create_silences.sql\n  Pending  00002_index_silences_by_end.sql\n');
    expect(out).to.include('\nup:\n  OK   00001_create_silences.sql\n  OK   00002_index_silences_by_end.sql\n  version 2\n');
    expect(out).to.include('\nstatus after up:\n  Applied  00001_create_silences.sql\n  Applied  00002_index_silences_by_end.sql\n');
    expect(out).to.include('\ngoose_db_version: (0, true) (1, true) (2, true)\n');
    expect(out).to.include('\ndown:\n  DOWN 00002_index_silences_by_end.sql\n  version 1\ngoose_db_version: (0, true) (1, true)\n');
    expect(out).to.include('\ndown-to 0:\n  DOWN 00001_create_silences.sql\n  version 0\n');
    expect(out).to.include('\ntable alert_history_db_example.silences exists: false\n');
    const left = await query(db, "select 1 from pg_namespace where nspname = 'alert_history_db_example' union all select 1 from pg_class where relname = 'goose_db_version'");
    expect(left).to.deep.equal([]);
  });

  it('without DATABASE_URL (nor PG* variables) an example starts an embedded PostgreSQL of its own', async () => {
    const run = await runExample('typed-queries.ts', cleanEnv({}));
    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stdout).to.match(/^server: embedded PostgreSQL on 127\.0\.0\.1:\d+ \(temporary, deleted at exit\)\n/);
    expect(run.stdout).to.include('\nmigrate: 3 migration(s) applied, schema version 3\n');
    expect(run.stdout).to.match(/\ndone\n$/);
    expect(run.stdout).to.not.match(/postgres:\/\//);
  });
});
