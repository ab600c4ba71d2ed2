/**
 * The audit log plugin: one record per write, with the actor it ran for (docs/audit-log.md).
 *
 *   npx tsx examples/audit-actor.ts
 *   DATABASE_URL=postgres://… npx tsx examples/audit-actor.ts
 *
 * 1. `createAuditLogger({ file })` appends JSON lines to a file (here in a temporary directory).
 * 2. `auditLog({ sink })` is passed as the first interceptor of `createDatabase`.
 * 3. Two actors work at the same time, each inside `withActor(actor, fn)`: every statement their
 *    code starts, however the awaits interleave, is recorded with their own actor.
 * 4. The audit file is flushed and read back; one line is printed per record.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
// In an application: from 'alert-history-db' (see examples/README.md).
import { auditLog, createAuditLogger, createDatabase, migrate, withActor, type AuditRecord, type DB } from '../src/index.js';
import { useExampleServer } from './support/example-server.js';

const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));

const server = await useExampleServer();
console.log(`server: ${server.description}`);

const dir = await mkdtemp(join(tmpdir(), 'alert-history-db-audit-'));
const auditFile = join(dir, 'audit.log');
// A winston logger of its own, separate from the application's logs: one record per line.
const audit = createAuditLogger({ file: auditFile });

const database = createDatabase<DB>(undefined, {
  // First among the interceptors, so that it records the outcome the caller gets. Parameters are
  // left out unless asked for; here they are included, with the annotations column redacted.
  interceptors: [auditLog({ sink: audit, includeParameters: true, redactColumns: ['annotations'] })],
});
const { db } = database;

try {
  // Outside any withActor: migrations would be recorded with actor null, but migrate() uses a
  // session of its own, outside the pool, so they are not recorded at all.
  await migrate(database, { dir: MIGRATIONS });

  const run = randomUUID().slice(0, 8);
  const startsAt = new Date(Date.now() - 5 * 60_000);
  const firing = (fingerprint: string) => ({
    fingerprint,
    status: 'firing' as const,
    starts_at: startsAt,
    labels: { alertname: 'QueueBacklog' },
    annotations: { runbook: 'https://runbooks.example/queue' },
    receiver: 'ops',
    group_key: '{}:{alertname="QueueBacklog"}',
  });

  // Two actors at once. The small sleeps make their statements interleave on the pool; each
  // statement still carries the actor of the withActor it was started in (AsyncLocalStorage).
  const alice = withActor({ id: 'alice', requestId: `req-${run}-1` }, async () => {
    await db.insertInto('alert_events').values(firing(`example-${run}-a`)).execute();
    await sleep(20);
    await db.selectFrom('alert_events').select('id').where('fingerprint', '=', `example-${run}-a`).execute(); // selects: no record
    await db
      .insertInto('alert_events')
      .values(firing(`example-${run}-a`))
      .execute()
      .catch(() => undefined); // a duplicate: recorded with outcome "error"
  });
  const escalation = withActor({ id: 'svc-escalation', kind: 'service' }, async () => {
    await sleep(10);
    await db.insertInto('alert_events').values(firing(`example-${run}-b`)).execute();
    await db.updateTable('alert_events').set({ annotations: { escalated: 'yes' } }).where('fingerprint', '=', `example-${run}-b`).execute();
  });
  await Promise.all([alice, escalation]);

  // No actor here: recorded with actor null.
  await db.deleteFrom('alert_events').where('fingerprint', 'like', `example-${run}-%`).execute();
} finally {
  await database.close();
  await server.stop();
}

// Records are written asynchronously: end the audit logger and wait until its file transport has
// flushed before reading the file (an application does the same at shutdown).
const flushed = Promise.all(audit.transports.map((transport) => once(transport, 'finish')));
audit.end();
await flushed;

const records = (await readFile(auditFile, 'utf8'))
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as AuditRecord);
await rm(dir, { recursive: true, force: true });

console.log(`audit records: ${records.length}`);
for (const record of records) {
  const parameters = record.parameters === undefined ? '' : ` parameters=${JSON.stringify(record.parameters)}`;
  const failure = record.error === undefined ? '' : ` (${record.error.kind} ${record.error.code ?? ''})`;
  console.log(`  actor=${JSON.stringify(record.actor)} ${record.operation} ${record.tables.join(',')} rows=${record.rowCount ?? 'null'} ${record.outcome}${failure}${parameters}`);
}
console.log('done');
