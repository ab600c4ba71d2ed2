/** Helpers of the service suites: a service over a migrated test database, driven through fastify's `inject`. */
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { createDatabase, type CreateDatabaseOptions, type Database } from '../../../src/database/create-database.js';
import { migrate } from '../../../src/migrate/migrate.js';
import type { DB } from '../../../src/schema/database.js';
import { createService, type AlertHistoryService, type ServiceOptions } from '../../../src/service/create-service.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { MIGRATIONS, tableCounts } from '../alerts/alerts-support.js';
import { configOf } from '../dialect/dialect-support.js';

export { MIGRATIONS, SAMPLE_FILES, sample, tableCounts, webhook, GO_ZERO_TIME } from '../alerts/alerts-support.js';

/** A service over a migrated database of its own. */
export interface ServiceFixture {
  readonly testDb: TestDatabase;
  readonly database: Database<DB>;
  readonly service: AlertHistoryService;
  /** `POST /webhook` with a JSON body (an object is serialised; a string is sent as it is). */
  postWebhook(body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** `GET url`. */
  get(url: string): Promise<LightMyRequestResponse>;
  /** Events and alerts stored. */
  counts(): Promise<{ events: number; alerts: number }>;
  /** Deletes every row of both tables. */
  truncate(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link setUpService}. */
export interface ServiceFixtureOptions {
  readonly database?: CreateDatabaseOptions;
  readonly service?: Omit<ServiceOptions, 'database'>;
}

/** Creates and migrates a database, and a service on it. */
export async function setUpService(label: string, options: ServiceFixtureOptions = {}): Promise<ServiceFixture> {
  const testDb = await createTestDatabase(label);
  await migrate(testDb.url, { dir: MIGRATIONS });
  const database = createDatabase<DB>(configOf(testDb), options.database ?? {});
  const service = await createService({ database, ...options.service });
  return {
    testDb,
    database,
    service,
    postWebhook: (body, headers = {}) =>
      service.app.inject({
        method: 'POST',
        url: '/webhook',
        headers: { 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (url) => service.app.inject({ method: 'GET', url }),
    counts: () => tableCounts(database.db),
    truncate: async () => {
      await sql`truncate alert_events, alerts restart identity`.execute(database.db);
    },
    close: async () => {
      await service.close();
      await database.close();
      await testDb.drop();
    },
  };
}

/** The JSON body of a response. */
export function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
  return response.json<T>();
}
