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
import { alertParameters, countNewFiring, eventParameters, type IngestStatements } from './ingest-statements.js';
import { SQL, type BenchClient } from './workloads.js';

/** jsonb parameters go in as objects: postgres.js serializes them itself (a string would be stored as a JSON string). */
const json = (value: object): object => value;

export function postgresJsClient(url: string, max: number, statements?: IngestStatements): BenchClient {
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
    sleep: async (seconds) => check('sleep', await sql`select pg_sleep(${seconds})`),
    // The ingest's exact texts on one reserved connection (sql.begin would send its own `begin …`).
    // Its timestamptz parameters are serialized through a Date by postgres.js: milliseconds, where
    // the others send the RFC 3339 text and keep microseconds. The work on the server is the same.
    ingest: async (webhook) => {
      if (statements === undefined) throw new Error('the ingest workload needs the captured statements');
      const connection = await sql.reserve();
      try {
        await connection.unsafe(statements.begin);
        const rows = (await connection.unsafe(statements.events, eventParameters(statements, webhook, json) as never[])) as unknown as {
          fingerprint: string;
          status: string;
        }[];
        const alerts = await connection.unsafe(statements.alerts, alertParameters(statements, webhook, countNewFiring(rows), json) as never[]);
        await connection.unsafe(statements.commit);
        return [{ newEvents: rows.length, duplicates: webhook.alerts.length - rows.length, alertsTouched: alerts.length }];
      } catch (error) {
        await connection.unsafe('rollback').catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
