/** Raw node-postgres: `pool.query(text, values)`, or with a name per statement (`{ name, text, values }`), prepared once per connection. */
import pg from 'pg';
import { alertParameters, countNewFiring, eventParameters, type IngestStatements } from './ingest-statements.js';
import type { BenchWebhook } from './ingest-workload.js';
import { SQL, type BenchClient } from './workloads.js';

type Send = (client: pg.PoolClient, name: string, text: string, values?: unknown[]) => Promise<pg.QueryResult>;

const json = (value: object): string => JSON.stringify(value);

/** The ingest transaction on one pooled connection, its statements sent by `send` (text or named). */
function ingestWith(pool: pg.Pool, statements: IngestStatements | undefined, send: Send): (webhook: BenchWebhook) => Promise<readonly unknown[]> {
  return async (webhook) => {
    if (statements === undefined) throw new Error('the ingest workload needs the captured statements');
    const client = await pool.connect();
    try {
      await send(client, 'bench_begin', statements.begin);
      const events = await send(client, 'bench_ingest_events', statements.events, eventParameters(statements, webhook, json));
      const rows = events.rows as { fingerprint: string; status: string }[];
      const alerts = await send(client, 'bench_ingest_alerts', statements.alerts, alertParameters(statements, webhook, countNewFiring(rows), json));
      await send(client, 'bench_commit', statements.commit);
      client.release();
      return [{ newEvents: rows.length, duplicates: webhook.alerts.length - rows.length, alertsTouched: alerts.rows.length }];
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      client.release();
      throw error;
    }
  };
}

export function pgTextClient(url: string, max: number, statements?: IngestStatements): BenchClient {
  const pool = new pg.Pool({ connectionString: url, max });
  return {
    lookup: async (id) => (await pool.query(SQL.lookup, [id])).rows,
    insert: async (e) => (await pool.query(SQL.insert, [e.fingerprint, e.status, e.labels, e.startsAt])).rows,
    range: async (from, limit) => (await pool.query(SQL.range, [from, limit])).rows,
    sleep: async (seconds) => (await pool.query(SQL.sleep, [seconds])).rows,
    ingest: ingestWith(pool, statements, (client, _name, text, values) => client.query(text, values)),
    close: () => pool.end(),
  };
}

export function pgNamedClient(url: string, max: number, statements?: IngestStatements): BenchClient {
  const pool = new pg.Pool({ connectionString: url, max });
  return {
    lookup: async (id) => (await pool.query({ name: 'bench_lookup', text: SQL.lookup, values: [id] })).rows,
    insert: async (e) =>
      (await pool.query({ name: 'bench_insert', text: SQL.insert, values: [e.fingerprint, e.status, e.labels, e.startsAt] })).rows,
    range: async (from, limit) => (await pool.query({ name: 'bench_range', text: SQL.range, values: [from, limit] })).rows,
    sleep: async (seconds) => (await pool.query({ name: 'bench_sleep', text: SQL.sleep, values: [seconds] })).rows,
    // transaction control without parameters goes as text, as the repository's does through the statement cache
    ingest: ingestWith(pool, statements, (client, name, text, values) =>
      values === undefined ? client.query(text) : client.query({ name, text, values }),
    ),
    close: () => pool.end(),
  };
}
