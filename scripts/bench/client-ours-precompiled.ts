/**
 * Our dialect with everything on (the very wiring of `ours-all`), with the lookup, range and insert
 * workloads run through precompiled queries (`precompile`): built and compiled once per process,
 * then only bound and executed. The ingest goes through the alert repository, as in `ours-all`.
 * `multiplexed`: the same on `ours-mux`'s wiring (createDatabase with multiplexing).
 */
import type { Kysely } from 'kysely';
import { createAlertRepository } from '../../src/alerts/index.js';
import { precompile } from '../../src/dialect/precompiled-query.js';
import type { DB } from '../../src/schema/index.js';
import { ourAllOnDatabase, ourAllOnMultiplexedDatabase } from './client-ours.js';
import { sleepWith, type BenchDatabase } from './kysely-queries.js';
import { SQL, type BenchClient, type Labels } from './workloads.js';

function precompiledQueries(db: Kysely<BenchDatabase>) {
  const queries = {
    lookup: precompile<{ id: number }>()(db, (db, param) =>
      db.selectFrom('bench_event').select(['id', 'fingerprint', 'status', 'labels', 'starts_at']).where('id', '=', param('id')),
    ),
    insert: precompile<{ fingerprint: string; status: string; labels: Labels; startsAt: Date }>()(db, (db, param) =>
      db
        .insertInto('bench_insert')
        .values({ fingerprint: param('fingerprint'), status: param('status'), labels: param('labels'), starts_at: param('startsAt') })
        .returning('id'),
    ),
    range: precompile<{ from: Date; limit: number }>()(db, (db, param) =>
      db
        .selectFrom('bench_event')
        .select(['id', 'fingerprint', 'status', 'labels', 'starts_at'])
        .where('starts_at', '>=', param('from'))
        .orderBy('starts_at')
        .limit(param('limit')),
    ),
  };
  // the same check as kysely-queries.ts's: every client sends exactly the same SQL
  for (const name of ['lookup', 'insert', 'range'] as const) {
    if (queries[name].sql !== SQL[name]) {
      throw new Error(`the precompiled ${name} query is\n  ${queries[name].sql}\nnot the SQL every client must send:\n  ${SQL[name]}`);
    }
  }
  return queries;
}

export function ourPrecompiledClient(url: string, max: number, multiplexed = false): BenchClient {
  const { db, close, stats } = multiplexed ? ourAllOnMultiplexedDatabase(url, max) : ourAllOnDatabase(url, max);
  const queries = precompiledQueries(db);
  const alerts = createAlertRepository(db as unknown as Kysely<DB>);
  return {
    ingest: async (webhook) => [await alerts.ingest(webhook)],
    lookup: (id) => queries.lookup.execute({ id }),
    insert: (event) => queries.insert.execute(event),
    range: (from, limit) => queries.range.execute({ from, limit }),
    sleep: (seconds) => sleepWith(db, seconds),
    stats,
    close,
  };
}
