/** Raw node-postgres: `pool.query(text, values)`, or with a name per statement (`{ name, text, values }`), prepared once per connection. */
import pg from 'pg';
import { SQL, type BenchClient } from './workloads.js';

export function pgTextClient(url: string, max: number): BenchClient {
  const pool = new pg.Pool({ connectionString: url, max });
  return {
    lookup: async (id) => (await pool.query(SQL.lookup, [id])).rows,
    insert: async (e) => (await pool.query(SQL.insert, [e.fingerprint, e.status, e.labels, e.startsAt])).rows,
    range: async (from, limit) => (await pool.query(SQL.range, [from, limit])).rows,
    close: () => pool.end(),
  };
}

export function pgNamedClient(url: string, max: number): BenchClient {
  const pool = new pg.Pool({ connectionString: url, max });
  return {
    lookup: async (id) => (await pool.query({ name: 'bench_lookup', text: SQL.lookup, values: [id] })).rows,
    insert: async (e) =>
      (await pool.query({ name: 'bench_insert', text: SQL.insert, values: [e.fingerprint, e.status, e.labels, e.startsAt] })).rows,
    range: async (from, limit) => (await pool.query({ name: 'bench_range', text: SQL.range, values: [from, limit] })).rows,
    close: () => pool.end(),
  };
}
