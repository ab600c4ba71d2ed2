/**
 * Typed queries over the alert history schema.
 *
 *   npx tsx examples/typed-queries.ts                          # on a temporary embedded PostgreSQL
 *   DATABASE_URL=postgres://… npx tsx examples/typed-queries.ts  # on your server
 *
 * 1. `createDatabase<DB>()` with the `DB` type generated from `migrations/` (src/schema): every
 *    table, column and value below is checked by the TypeScript compiler.
 * 2. `migrate()` applies the pending migrations first (none on a second run).
 * 3. Two transactions record an alert firing and then resolving, in both tables.
 * 4. Typed selects read the history back; an aggregate counts events by status.
 * 5. The rows it wrote are deleted again, and `close()` shuts the pool down.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// In an application: from 'alert-history-db' (see examples/README.md).
import { createDatabase, migrate, type DB } from '../src/index.js';
import { useExampleServer } from './support/example-server.js';

// The schema this repository ships. An application points `dir` at its own migrations (or at
// node_modules/alert-history-db/migrations, which the package includes).
const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));

const server = await useExampleServer();
console.log(`server: ${server.description}`);

// Reads DATABASE_URL (and PG*, DB_* variables), validates it, opens an instrumented pool and
// returns a Kysely<DB> on this library's dialect.
const database = createDatabase<DB>();
const { db } = database;

try {
  // Applies what is pending from migrations/ under goose's advisory lock; on a second run there is
  // nothing to do and `applied` is empty. Migrations use their own session, not a pooled one.
  const { applied, version } = await migrate(database, { dir: MIGRATIONS });
  console.log(`migrate: ${applied.length} migration(s) applied, schema version ${version}`);

  // A fingerprint of this run only, so that the example never touches other rows.
  const fingerprint = `example-${randomUUID().slice(0, 8)}`;
  const labels = { alertname: 'DiskFull', instance: 'db-1', severity: 'page' };
  const startsAt = new Date(Date.now() - 10 * 60_000);
  const endsAt = new Date();

  // Firing: the event and the alert's current state are written together or not at all.
  await db.transaction().execute(async (trx) => {
    const event = await trx
      .insertInto('alert_events')
      .values({ fingerprint, status: 'firing', starts_at: startsAt, labels, receiver: 'ops', group_key: '{}:{alertname="DiskFull"}' })
      .returning(['id', 'received_at'])
      .executeTakeFirstOrThrow();
    // event.id is a string: bigint columns come back as text from node-postgres.
    await trx
      .insertInto('alerts')
      .values({
        fingerprint,
        status: 'firing',
        labels,
        starts_at: startsAt,
        receiver: 'ops',
        first_seen_at: startsAt,
        last_seen_at: event.received_at,
        last_received_at: event.received_at,
        firing_episodes: 1,
      })
      .execute();
  });
  console.log(`transaction 1: ${fingerprint} firing (alert_events + alerts)`);

  // Resolved: a second event, and the alert's row updated in the same transaction.
  await db.transaction().execute(async (trx) => {
    const event = await trx
      .insertInto('alert_events')
      .values({ fingerprint, status: 'resolved', starts_at: startsAt, ends_at: endsAt, labels, receiver: 'ops', group_key: '{}:{alertname="DiskFull"}' })
      .returning('received_at')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('alerts')
      .set({ status: 'resolved', ends_at: endsAt, last_seen_at: event.received_at, last_received_at: event.received_at })
      .where('fingerprint', '=', fingerprint)
      .execute();
  });
  console.log(`transaction 2: ${fingerprint} resolved`);

  // Alertmanager re-sends states: the unique key (fingerprint, status, starts_at) makes a re-sent
  // state a no-op when inserted with ON CONFLICT DO NOTHING.
  const resent = await db
    .insertInto('alert_events')
    .values({ fingerprint, status: 'firing', starts_at: startsAt, labels, receiver: 'ops', group_key: '{}:{alertname="DiskFull"}' })
    .onConflict((oc) => oc.columns(['fingerprint', 'status', 'starts_at']).doNothing())
    .executeTakeFirst();
  console.log(`re-sent firing state: ${resent.numInsertedOrUpdatedRows ?? 0n} row(s) inserted`);

  // The history, typed: status is 'firing' | 'resolved', starts_at a Date, ends_at Date | null,
  // alertname (computed by the server from labels) string | null.
  const history = await db
    .selectFrom('alert_events')
    .select(['id', 'status', 'alertname', 'starts_at', 'ends_at'])
    .where('fingerprint', '=', fingerprint)
    .orderBy('starts_at')
    .orderBy('status')
    .execute();
  for (const event of history) {
    console.log(`history: ${event.status} alertname=${event.alertname ?? '-'} starts_at=${event.starts_at.toISOString()} ends_at=${event.ends_at?.toISOString() ?? 'null'}`);
  }

  const current = await db
    .selectFrom('alerts')
    .select(['status', 'firing_episodes', 'first_seen_at'])
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirstOrThrow();
  console.log(`current state: ${current.status}, ${current.firing_episodes} firing episode(s), first seen ${current.first_seen_at.toISOString()}`);

  // count(*) is a bigint on the server, hence a string here.
  const byStatus = await db
    .selectFrom('alert_events')
    .select(['status', (eb) => eb.fn.countAll<string>().as('events')])
    .where('fingerprint', '=', fingerprint)
    .groupBy('status')
    .orderBy('status')
    .execute();
  console.log(`events by status: ${byStatus.map((row) => `${row.status}=${row.events}`).join(', ')}`);

  // The compiler refuses what the schema forbids. The query below is only built, never run:
  // alertname is GENERATED ALWAYS, typed ColumnType<string | null, never, never>.
  // @ts-expect-error alertname cannot be written
  db.updateTable('alerts').set({ alertname: 'renamed' });

  // Leave the database as it was.
  const removed = await db.transaction().execute(async (trx) => {
    const events = await trx.deleteFrom('alert_events').where('fingerprint', '=', fingerprint).executeTakeFirst();
    await trx.deleteFrom('alerts').where('fingerprint', '=', fingerprint).execute();
    return events.numDeletedRows;
  });
  console.log(`cleanup: ${removed} event(s) and the alert row deleted`);

  const stats = database.pool.stats();
  console.log(`pool: ${stats.total} connection(s) open, ${stats.acquireCount} acquisitions`);
} finally {
  // Stops the health checker, destroys the Kysely instance and closes the pool.
  await database.close();
  await server.stop();
}
console.log('done');
