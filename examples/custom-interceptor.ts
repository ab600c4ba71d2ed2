/**
 * Writing your own interceptor: driver-level middleware that sees every statement the dialect
 * runs, the failed ones included (a Kysely plugin never sees a failure). See docs/dialect.md,
 * "The interceptor chain", and the `QueryInterceptor` TSDoc in src/dialect/interceptor.ts.
 *
 *   npx tsx examples/custom-interceptor.ts
 *   DATABASE_URL=postgres://… npx tsx examples/custom-interceptor.ts
 *
 * Two interceptors are passed to `createDatabase(…, { interceptors })`:
 *
 * - `sqlComment(tag)` rewrites each statement in its `before` hook to start with a comment naming
 *   the application, which the server then shows in `pg_stat_activity` and its logs;
 * - `TableStats` observes outcomes in `after` / `error` and counts statements, rows and failures
 *   per table and operation.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
// In an application: from 'alert-history-db' (see examples/README.md).
import { classifyError, createDatabase, migrate, type DB, type InterceptedResult, type QueryContext, type QueryInterceptor } from '../src/index.js';
import { useExampleServer } from './support/example-server.js';

const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));

/**
 * Starts every statement with an SQL block comment holding `tag`, so the server shows which
 * application sent it (`pg_stat_activity.query`, the server's log). The prefix is constant, so
 * each query keeps the same SQL text on every run and the statement cache (on by default,
 * innermost) still reuses its prepared statements: never put per-call values (request ids, times)
 * into the SQL itself.
 */
function sqlComment(tag: string): QueryInterceptor {
  // Only characters that cannot end the comment early or smuggle SQL in.
  if (!/^[\w .:=,-]+$/.test(tag)) throw new TypeError(`unsafe SQL comment tag: ${JSON.stringify(tag)}`);
  const prefix = `/* ${tag} */ `;
  return {
    name: 'sql-comment',
    before(ctx: QueryContext): void {
      ctx.sql = prefix + ctx.sql;
    },
  };
}

/** Counts per `table operation` (e.g. `alert_events insert`). */
interface Counts {
  statements: number;
  rows: number;
  failures: number;
}

/**
 * Counts statements, rows and failures per table and operation. Hooks are called as methods of
 * the interceptor, so a class works. `after` and `error` are observers: what they throw is logged
 * and ignored, and they must not change the result or the error they are given.
 */
class TableStats implements QueryInterceptor {
  readonly name = 'table-stats';
  readonly #counts = new Map<string, Counts>();

  after(ctx: QueryContext, result: InterceptedResult): void {
    // Writes report the rows they changed; reads the rows they returned.
    const rows = result.numAffectedRows !== undefined ? Number(result.numAffectedRows) : (ctx.rowCount ?? result.rows.length);
    this.#add(ctx, rows, 0);
  }

  error(ctx: QueryContext): void {
    this.#add(ctx, 0, 1);
  }

  /** One line per `table operation`, sorted. */
  report(): string[] {
    return [...this.#counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, c]) => `${key}: ${c.statements} statement(s), ${c.rows} row(s), ${c.failures} failed`);
  }

  #add(ctx: QueryContext, rows: number, failures: number): void {
    // ctx.tables comes from Kysely's query tree (target first); raw SQL and begin/commit have none.
    const table = ctx.tables[0] ?? '(no table)';
    const key = `${table} ${ctx.operation}`;
    const counts = this.#counts.get(key) ?? { statements: 0, rows: 0, failures: 0 };
    counts.statements += 1;
    counts.rows += rows;
    counts.failures += failures;
    this.#counts.set(key, counts);
  }
}

const server = await useExampleServer();
console.log(`server: ${server.description}`);

const stats = new TableStats();
// createDatabase puts its query timing outermost, then these in order, then the statement cache.
const database = createDatabase<DB>(undefined, { interceptors: [sqlComment('app=alert-history-examples'), stats] });
const { db } = database;

try {
  // Migrations run on a session of their own, outside the pool: the interceptors do not see them.
  await migrate(database, { dir: MIGRATIONS });

  // current_query() is the text the server received: the comment is there.
  const seen = await sql<{ text: string }>`select current_query() as text`.execute(db);
  console.log(`the server received: ${seen.rows[0]?.text}`);

  const fingerprint = `example-${randomUUID().slice(0, 8)}`;
  const now = Date.now();
  const event = (minutesAgo: number) => ({
    fingerprint,
    status: 'firing' as const,
    starts_at: new Date(now - minutesAgo * 60_000),
    labels: { alertname: 'HighLatency', service: 'checkout' },
    receiver: 'ops',
    group_key: '{}:{alertname="HighLatency"}',
  });
  await db.insertInto('alert_events').values([event(30), event(20), event(10)]).execute();
  const rows = await db.selectFrom('alert_events').select(['id', 'starts_at']).where('fingerprint', '=', fingerprint).execute();
  console.log(`inserted and read back ${rows.length} events`);

  // A failing statement goes through the chain too: the `error` hooks see it, and the caller
  // still gets the server's own error (a pg.DatabaseError with its SQLSTATE).
  try {
    await db.insertInto('alert_events').values(event(30)).execute(); // same (fingerprint, status, starts_at)
  } catch (error) {
    const { kind, code } = classifyError(error);
    console.log(`duplicate insert refused: ${kind} ${code ?? ''}`.trimEnd());
  }

  await db.deleteFrom('alert_events').where('fingerprint', '=', fingerprint).execute();

  console.log('table-stats:');
  for (const line of stats.report()) console.log(`  ${line}`);
} finally {
  await database.close();
  await server.stop();
}
console.log('done');
