/**
 * The workloads as Kysely builder queries, shared by every Kysely client (Kysely's own
 * `PostgresDialect` and ours): the query is built and compiled on every call, as an application does.
 */
import { sql, type ColumnType, type Generated, type Kysely } from 'kysely';
import { createAlertRepository } from '../../src/alerts/index.js';
import type { DB } from '../../src/schema/index.js';
import { SQL, type BenchClient, type Labels, type NewEvent } from './workloads.js';

export interface BenchDatabase {
  bench_event: {
    /** `bigint`: pg returns a string; `number` in the type lets the lookup pass the very number the other clients pass. */
    id: ColumnType<string | number, never, never>;
    fingerprint: string;
    status: string;
    labels: Labels;
    starts_at: Date;
  };
  bench_insert: {
    id: Generated<string>;
    fingerprint: string;
    status: string;
    labels: Labels;
    starts_at: Date;
  };
}

const lookupQuery = (db: Kysely<BenchDatabase>, id: number) =>
  db.selectFrom('bench_event').select(['id', 'fingerprint', 'status', 'labels', 'starts_at']).where('id', '=', id);

const insertQuery = (db: Kysely<BenchDatabase>, event: NewEvent) =>
  db
    .insertInto('bench_insert')
    .values({ fingerprint: event.fingerprint, status: event.status, labels: event.labels, starts_at: event.startsAt })
    .returning('id');

const rangeQuery = (db: Kysely<BenchDatabase>, from: Date, limit: number) =>
  db
    .selectFrom('bench_event')
    .select(['id', 'fingerprint', 'status', 'labels', 'starts_at'])
    .where('starts_at', '>=', from)
    .orderBy('starts_at')
    .limit(limit);

const sleepQuery = (seconds: number) => sql<{ pg_sleep: string }>`select pg_sleep(${seconds})`;

/** The head-of-line workload's slow statement, raw SQL as an application writes it. */
export async function sleepWith(db: Kysely<BenchDatabase>, seconds: number): Promise<readonly unknown[]> {
  return (await sleepQuery(seconds).execute(db)).rows;
}

/** Throws unless the builder queries compile to exactly the SQL every other client sends. */
function assertSameSql(db: Kysely<BenchDatabase>): void {
  const compiled = {
    lookup: lookupQuery(db, 1).compile().sql,
    insert: insertQuery(db, { fingerprint: 'f', status: 's', labels: {}, startsAt: new Date(0) }).compile().sql,
    range: rangeQuery(db, new Date(0), 1).compile().sql,
    sleep: sleepQuery(0).compile(db).sql,
  };
  for (const name of Object.keys(SQL) as (keyof typeof SQL)[]) {
    if (compiled[name] !== SQL[name]) {
      throw new Error(`Kysely compiles the ${name} query to\n  ${compiled[name]}\nnot to the SQL every client must send:\n  ${SQL[name]}`);
    }
  }
}

/** A bench client over a Kysely instance (which it destroys on `close`). */
export function kyselyClient(db: Kysely<BenchDatabase>, close: () => Promise<void> = () => db.destroy()): BenchClient {
  assertSameSql(db);
  // the alert schema's tables are in the same database: the repository gets the same Kysely, typed for them
  const alerts = createAlertRepository(db as unknown as Kysely<DB>);
  return {
    ingest: async (webhook) => [await alerts.ingest(webhook)],
    lookup: (id) => lookupQuery(db, id).execute(),
    insert: (event) => insertQuery(db, event).execute(),
    range: (from, limit) => rangeQuery(db, from, limit).execute(),
    sleep: (seconds) => sleepWith(db, seconds),
    close,
  };
}
