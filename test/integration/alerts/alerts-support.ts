/** Helpers of the alert history suites: a migrated database per suite, the sample webhooks, generated webhooks. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { createAlertRepository, type AlertRepositoryOptions } from '../../../src/alerts/alert-repository.js';
import type { AlertRepository, AlertStatus } from '../../../src/alerts/alert-types.js';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import { migrate } from '../../../src/migrate/migrate.js';
import type { DB } from '../../../src/schema/database.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf } from '../dialect/dialect-support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository's real migrations. */
export const MIGRATIONS = join(HERE, '..', '..', '..', 'migrations');

/** Go's zero time, a firing alert's `endsAt`. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** A migrated database of its own, the library's `createDatabase` over it, and a repository. */
export interface AlertsFixture {
  readonly testDb: TestDatabase;
  readonly database: Database<DB>;
  readonly db: Kysely<DB>;
  readonly repo: AlertRepository;
  /** Deletes every row of both tables. */
  truncate(): Promise<void>;
  close(): Promise<void>;
}

/** Creates and migrates a database for one suite. */
export async function setUpAlerts(label: string, options: AlertRepositoryOptions = {}, maxConns = 24): Promise<AlertsFixture> {
  const testDb = await createTestDatabase(label);
  await migrate(testDb.url, { dir: MIGRATIONS });
  const database = createDatabase<DB>(configOf(testDb, { maxConns }), { health: false, metrics: false });
  return {
    testDb,
    database,
    db: database.db,
    repo: createAlertRepository(database.db, options),
    truncate: async () => {
      await sql`truncate alert_events, alerts restart identity`.execute(database.db);
    },
    close: async () => {
      await database.close();
      await testDb.drop();
    },
  };
}

/** The four webhooks a real Alertmanager 0.25 sent, in order (samples/README.md). */
export const SAMPLE_FILES = [
  '01-firing-2alerts-firing.json',
  '02-firing-1alerts-firing.json',
  '03-firing-2alerts-firing-resolved.json',
  '04-resolved-1alerts-resolved.json',
] as const;

/** One sample webhook, parsed afresh. */
export function sample(file: (typeof SAMPLE_FILES)[number]): Record<string, unknown> {
  return JSON.parse(readFileSync(join(HERE, 'samples', file), 'utf8')) as Record<string, unknown>;
}

/** An alert of a generated webhook. */
export interface AlertSpec {
  readonly fingerprint: string;
  readonly status: AlertStatus;
  readonly startsAt: string;
  /** Default: Go's zero time while firing, `startsAt` + 1 minute once resolved. */
  readonly endsAt?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** `iso` plus `ms` milliseconds, as RFC 3339. */
export function plusMs(iso: string, ms: number): string {
  return new Date(new Date(iso).getTime() + ms).toISOString();
}

/** An Alertmanager webhook (version 4) carrying `alerts`. */
export function webhook(alerts: readonly AlertSpec[], receiver = 'webhook', groupKey = '{}:{alertname="Generated"}'): Record<string, unknown> {
  return {
    version: '4',
    receiver,
    groupKey,
    status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
    truncatedAlerts: 0,
    externalURL: 'http://alertmanager.invalid',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    alerts: alerts.map((alert) => ({
      status: alert.status,
      labels: alert.labels ?? { alertname: 'Generated', fp: alert.fingerprint },
      annotations: alert.annotations ?? {},
      startsAt: alert.startsAt,
      endsAt: alert.endsAt ?? (alert.status === 'firing' ? GO_ZERO_TIME : plusMs(alert.startsAt, 60_000)),
      generatorURL: '',
      fingerprint: alert.fingerprint,
    })),
  };
}

/** Counts of both tables. */
export async function tableCounts(db: Kysely<DB>): Promise<{ events: number; alerts: number }> {
  const events = await db.selectFrom('alert_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const alerts = await db.selectFrom('alerts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return { events: Number(events.n), alerts: Number(alerts.n) };
}
