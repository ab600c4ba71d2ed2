/**
 * postgres.js 3.4 with its tagged templates, the same SQL text (checked against `statement.string`
 * on every call: one string comparison) and its defaults: every statement prepared, per
 * connection, on first use; when all `max` connections are busy, further queries are pipelined
 * onto them (up to 100 each).
 *
 * The labels go in as `sql.json(object)`: postgres.js learns the parameter's type (jsonb) from the
 * server and serializes with `JSON.stringify`, so a JSON *string* (what node-postgres takes as well)
 * would be stored double-encoded, as a jsonb string. The insert audit catches that.
 */
import postgres from 'postgres';
import { SQL, type BenchClient } from './workloads.js';

export function postgresJsClient(url: string, max: number): BenchClient {
  const sql = postgres(url, { max, onnotice: () => undefined });
  const check = <T extends { statement: { string: string } }>(name: keyof typeof SQL, result: T): T => {
    if (result.statement.string !== SQL[name]) {
      throw new Error(`postgres.js sent the ${name} query as\n  ${result.statement.string}\nnot as the SQL every client must send:\n  ${SQL[name]}`);
    }
    return result;
  };
  return {
    lookup: async (id) =>
      check('lookup', await sql`select "id", "fingerprint", "status", "labels", "starts_at" from "bench_event" where "id" = ${id}`),
    insert: async (e) =>
      check(
        'insert',
        await sql`insert into "bench_insert" ("fingerprint", "status", "labels", "starts_at") values (${e.fingerprint}, ${e.status}, ${sql.json(e.labels)}, ${e.startsAt}) returning "id"`,
      ),
    range: async (from, limit) =>
      check(
        'range',
        await sql`select "id", "fingerprint", "status", "labels", "starts_at" from "bench_event" where "starts_at" >= ${from} order by "starts_at" limit ${limit}`,
      ),
    close: () => sql.end({ timeout: 5 }),
  };
}
