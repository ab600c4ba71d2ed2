/**
 * Parent only: captures the SQL of the repository's ingest with a Kysely whose driver records
 * what it is given instead of sending it, and checks that the bench's parameter builders
 * (`ingest-statements.ts`) produce exactly the repository's parameters.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { createAlertRepository } from '../../src/alerts/index.js';
import type { DB } from '../../src/schema/index.js';
import { alertParameters, eventParameters, type IngestStatements } from './ingest-statements.js';
import { ALERTS_PER_WEBHOOK, benchWebhook } from './ingest-workload.js';

class RecordingConnection implements DatabaseConnection {
  readonly #out: CompiledQuery[];
  constructor(out: CompiledQuery[]) {
    this.#out = out;
  }
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.#out.push(query);
    return { rows: [] };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('not used by ingest');
  }
}

class RecordingDriver implements Driver {
  readonly #connection: RecordingConnection;
  constructor(out: CompiledQuery[]) {
    this.#connection = new RecordingConnection(out);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection;
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // the text Kysely's PostgresDriver and ours send
    let text = 'begin';
    if (settings.isolationLevel !== undefined || settings.accessMode !== undefined) {
      text = ['start transaction', ...(settings.isolationLevel === undefined ? [] : [`isolation level ${settings.isolationLevel}`]), ...(settings.accessMode === undefined ? [] : [settings.accessMode])].join(' ');
    }
    await connection.executeQuery(CompiledQuery.raw(text));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

/** The statements of one ingest of a bench webhook, checked against the bench's parameter builders. */
export async function captureIngestStatements(): Promise<IngestStatements> {
  const recorded: CompiledQuery[] = [];
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new RecordingDriver(recorded),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  const webhook = benchWebhook(0, 0);
  await createAlertRepository(db).ingest(webhook);
  await db.destroy();
  const texts = recorded.map((q) => q.sql);
  if (recorded.length !== 4) throw new Error(`the repository's ingest sent ${recorded.length} statements, the bench expects 4:\n${texts.join('\n')}`);
  const [begin, events, alerts, commit] = recorded as [CompiledQuery, CompiledQuery, CompiledQuery, CompiledQuery];
  const eventRowParameters = 9;
  const alertRowParameters = 10;
  const statements: IngestStatements = {
    begin: begin.sql,
    events: events.sql,
    alerts: alerts.sql,
    commit: commit.sql,
    eventsTail: events.parameters.slice(ALERTS_PER_WEBHOOK * eventRowParameters),
    alertsTail: alerts.parameters.slice(ALERTS_PER_WEBHOOK * alertRowParameters),
  };
  const json = (value: object): string => JSON.stringify(value);
  if (!isDeepStrictEqual(eventParameters(statements, webhook, json), [...events.parameters])) {
    throw new Error(`the bench builds other parameters for the events INSERT than the repository:\n${JSON.stringify(events.parameters)}`);
  }
  // the recording driver returned no rows: no new firing event, as the builder is told here
  if (!isDeepStrictEqual(alertParameters(statements, webhook, new Map(), json), [...alerts.parameters])) {
    throw new Error(`the bench builds other parameters for the alerts upsert than the repository:\n${JSON.stringify(alerts.parameters)}`);
  }
  return statements;
}
