/**
 * CI tool: runs a representative workload against PostgreSQL (DATABASE_URL, or an embedded
 * server) through `createDatabase`, then prints the Prometheus exposition of its registry (with
 * prom-client's default process metrics) on stdout, for `promtool check metrics`.
 *
 *   npx tsx scripts/metrics-sample.ts | promtool check metrics
 */
import { sql } from 'kysely';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '../src/config/load-config.js';
import { createDatabase } from '../src/database/create-database.js';
import { findFreePort, startEmbeddedPostgres, type EmbeddedServer } from '../src/embedded/embedded-server.js';
import { createMetrics } from '../src/observability/metrics.js';
import { transaction } from '../src/resilience/transaction.js';

interface Schema {
  sample_event: { id: number; fingerprint: string; status: string };
}

const log = (message: string): void => void process.stderr.write(`metrics-sample: ${message}\n`);

async function settle(work: Promise<unknown>): Promise<void> {
  await work.then(
    () => undefined,
    () => undefined,
  );
}

let server: EmbeddedServer | undefined;
const given = process.env.DATABASE_URL;
if (given === undefined || given === '') {
  server = await startEmbeddedPostgres();
  log(`embedded PostgreSQL on port ${server.port}`);
}
const connectionString = given !== undefined && given !== '' ? given : (server as EmbeddedServer).connectionString('postgres');

const registry = new Registry();
collectDefaultMetrics({ register: registry });
const metrics = createMetrics({ registry });
const database = createDatabase<Schema>(loadConfig({}, { connectionString, maxConns: 4, sslMode: 'disable' }), {
  env: {},
  poolName: 'sample',
  metrics,
  slowQueryMs: 50,
  health: { periodMs: 200 },
});
const { db } = database;
try {
  await sql`drop table if exists sample_event`.execute(db);
  await sql`create table sample_event (id int primary key, fingerprint text not null, status text not null)`.execute(db);
  for (let id = 1; id <= 20; id += 1) {
    await db.insertInto('sample_event').values({ id, fingerprint: `fp-${id % 5}`, status: id % 3 === 0 ? 'resolved' : 'firing' }).execute();
  }
  await Promise.all(Array.from({ length: 40 }, (_, i) => db.selectFrom('sample_event').selectAll().where('fingerprint', '=', `fp-${i % 5}`).execute()));
  await db.updateTable('sample_event').set({ status: 'resolved' }).where('id', '=', 1).execute();
  await db.deleteFrom('sample_event').where('id', '=', 2).execute();
  await settle(db.insertInto('sample_event').values({ id: 3, fingerprint: 'dup', status: 'firing' }).execute()); // 23505
  await settle(sql`select * from missing_table`.execute(db)); // 42P01
  await sql`select pg_sleep(0.06)`.execute(db); // slow query
  await transaction(db, (trx) => trx.insertInto('sample_event').values({ id: 100, fingerprint: 'tx', status: 'firing' }).execute());
  await settle(
    transaction(db, async (trx) => {
      await trx.insertInto('sample_event').values({ id: 101, fingerprint: 'tx', status: 'firing' }).execute();
      throw new Error('roll back');
    }),
  );
  await database.health?.check();

  // a second pool in the same registry that cannot connect: connect retries, breaker, health
  const port = await findFreePort();
  const unreachable = createDatabase<Schema>(loadConfig({}, { host: '127.0.0.1', port, user: 'nobody', database: 'none', sslMode: 'disable' }), {
    env: {},
    poolName: 'unreachable',
    metrics,
    breaker: { threshold: 2, halfOpenAfterMs: 60_000 },
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    health: { periodMs: 60_000, timeoutMs: 500 },
  });
  await settle(unreachable.db.selectFrom('sample_event').selectAll().execute());
  await unreachable.health?.check();
  process.stdout.write(await registry.metrics());
  await unreachable.close();
  log('done');
} finally {
  await database.close();
  await server?.stop();
}
