import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { migrate } from '../../../src/migrate/migrate.js';
import { failureOf } from '../../support/failure.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery } from '../dialect/dialect-support.js';

/** The repository's real migrations. */
const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'migrations');

/** Two alerts of one Alertmanager 0.25 webhook (group ProbeHighLatency): one firing, one resolved. */
const WEBHOOK = {
  receiver: 'webhook',
  groupKey: '{}:{alertname="ProbeHighLatency"}',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'ProbeHighLatency', instance: 'api-1', severity: 'warning' },
      annotations: { runbook: 'https://example.invalid/rb', summary: 'p99 latency above 1s' },
      startsAt: '2026-11-27T00:22:20.869610604Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint: 'd5216addea6a4d14',
    },
    {
      status: 'resolved',
      labels: { alertname: 'ProbeHighLatency', instance: 'api-2', severity: 'critical', namespace: 'prod' },
      annotations: { summary: 'p99 latency above 5s' },
      startsAt: '2026-11-27T00:22:20.889480811Z',
      endsAt: '2026-11-27T00:22:33.163Z',
      generatorURL: '',
      fingerprint: 'f1374234d2285e8e',
    },
  ],
} as const;

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Inserts the webhook's alerts as events, idempotently; returns how many rows were new. */
async function ingestEvents(db: TestDatabase): Promise<number> {
  let inserted = 0;
  for (const alert of WEBHOOK.alerts) {
    const rows = await adminQuery(
      db,
      `insert into alert_events (fingerprint, status, starts_at, ends_at, labels, annotations, generator_url, receiver, group_key)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (fingerprint, status, starts_at) do nothing
       returning id`,
      [
        alert.fingerprint,
        alert.status,
        alert.startsAt,
        alert.endsAt === GO_ZERO_TIME ? null : alert.endsAt,
        JSON.stringify(alert.labels),
        JSON.stringify(alert.annotations),
        alert.generatorURL,
        WEBHOOK.receiver,
        WEBHOOK.groupKey,
      ],
    );
    inserted += rows.length;
  }
  return inserted;
}

async function tablesAndTypes(db: TestDatabase): Promise<{ tables: string[]; types: string[] }> {
  const tables = await adminQuery<{ name: string }>(db, 'select tablename as name from pg_tables where schemaname = current_schema() order by 1');
  const types = await adminQuery<{ name: string }>(
    db,
    "select typname as name from pg_type where typnamespace = current_schema()::regnamespace and typtype = 'e' order by 1",
  );
  return { tables: tables.map((r) => r.name), types: types.map((r) => r.name) };
}

describe('the alert history schema (migrations/)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('alert-schema');
  });

  after(async () => {
    await db?.drop();
  });

  it('applies from an empty database', async () => {
    const result = await migrate(db.url, { dir: MIGRATIONS, env: {} });
    expect(result.applied.map((m) => m.fileName)).to.deep.equal(['00001_alert_history_tables.sql', '00002_alert_history_indexes.sql', '00003_alert_history_column_comments.sql']);
    expect(result.version).to.equal(3);
    expect(await tablesAndTypes(db)).to.deep.equal({ tables: ['alert_events', 'alerts', 'goose_db_version'], types: ['alert_status'] });
  });

  it('has the indexes the history queries rely on', async () => {
    const rows = await adminQuery<{ name: string }>(
      db,
      "select indexname as name from pg_indexes where schemaname = current_schema() and tablename in ('alert_events', 'alerts') order by 1",
    );
    expect(rows.map((r) => r.name)).to.deep.equal([
      'alert_events_alertname_starts_at_id_idx',
      'alert_events_fingerprint_starts_at_status_key',
      'alert_events_labels_idx',
      'alert_events_pkey',
      'alert_events_starts_at_id_idx',
      'alerts_alertname_status_idx',
      'alerts_firing_episodes_idx',
      'alerts_labels_idx',
      'alerts_pkey',
      'alerts_status_starts_at_idx',
    ]);
  });

  it('stores a webhook: Go zero time as NULL, alertname computed, a re-sent notification adds nothing', async () => {
    expect(await ingestEvents(db)).to.equal(2);
    expect(await ingestEvents(db)).to.equal(0);
    const rows = await adminQuery<{ fingerprint: string; status: string; ends_at: Date | null; alertname: string; micros: string; received: boolean }>(
      db,
      `select fingerprint, status::text as status, ends_at, alertname, to_char(starts_at at time zone 'UTC', 'US') as micros,
              received_at <= now() as received
         from alert_events order by fingerprint`,
    );
    expect(rows.map(({ fingerprint, status, alertname, received }) => ({ fingerprint, status, alertname, received }))).to.deep.equal([
      { fingerprint: 'd5216addea6a4d14', status: 'firing', alertname: 'ProbeHighLatency', received: true },
      { fingerprint: 'f1374234d2285e8e', status: 'resolved', alertname: 'ProbeHighLatency', received: true },
    ]);
    expect(rows[0]?.ends_at).to.equal(null);
    expect(rows[1]?.ends_at?.toISOString()).to.equal('2026-11-27T00:22:33.163Z');
    // nanoseconds rounded to microseconds by the server
    expect(rows.map((r) => r.micros)).to.deep.equal(['869611', '889481']);
  });

  it('the unique key refuses a duplicate state; the same alert in another state or episode is a new row', async () => {
    const insert = (status: string, startsAt: string) =>
      adminQuery(
        db,
        `insert into alert_events (fingerprint, status, starts_at, receiver, group_key) values ('d5216addea6a4d14', $1, $2, 'webhook', 'g')`,
        [status, startsAt],
      );
    const duplicate = await failureOf(insert('firing', WEBHOOK.alerts[0].startsAt));
    expect(duplicate).to.have.property('code', '23505');
    expect(duplicate).to.have.property('constraint', 'alert_events_fingerprint_starts_at_status_key');
    await insert('resolved', WEBHOOK.alerts[0].startsAt);
    await insert('firing', '2026-11-27T01:00:00Z');
    const timeline = await adminQuery<{ status: string }>(
      db,
      "select status::text as status from alert_events where fingerprint = 'd5216addea6a4d14' order by starts_at, status",
    );
    expect(timeline.map((r) => r.status)).to.deep.equal(['firing', 'resolved', 'firing']);
  });

  it('refuses an unknown status and a written alertname', async () => {
    const status = await failureOf(
      adminQuery(db, "insert into alert_events (fingerprint, status, starts_at, receiver, group_key) values ('x', 'pending', now(), 'r', 'g')"),
    );
    expect(status).to.have.property('code', '22P02');
    const alertname = await failureOf(
      adminQuery(db, "insert into alert_events (fingerprint, status, starts_at, receiver, group_key, alertname) values ('x', 'firing', now(), 'r', 'g', 'X')"),
    );
    expect(alertname).to.have.property('code', '428C9');
  });

  it('keeps the current state per fingerprint in alerts', async () => {
    const alert = WEBHOOK.alerts[1];
    await adminQuery(
      db,
      `insert into alerts (fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, receiver,
                           first_seen_at, last_seen_at, last_received_at, firing_episodes)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $5, now(), now(), 1)`,
      [alert.fingerprint, alert.status, JSON.stringify(alert.labels), JSON.stringify(alert.annotations), alert.startsAt, alert.endsAt, alert.generatorURL, WEBHOOK.receiver],
    );
    const duplicate = await failureOf(
      adminQuery(db, `insert into alerts (fingerprint, status, starts_at, receiver, first_seen_at, last_seen_at, last_received_at) values ($1, 'firing', now(), 'r', now(), now(), now())`, [alert.fingerprint]),
    );
    expect(duplicate).to.have.property('code', '23505');
    const rows = await adminQuery<{ alertname: string; firing_episodes: number }>(db, 'select alertname, firing_episodes from alerts');
    expect(rows).to.deep.equal([{ alertname: 'ProbeHighLatency', firing_episodes: 1 }]);
    const negative = await failureOf(adminQuery(db, 'update alerts set firing_episodes = -1'));
    expect(negative).to.have.property('code', '23514');
  });

  it('label matchers by containment return the right rows', async () => {
    const events = async (labels: Record<string, string>): Promise<string[]> =>
      (
        await adminQuery<{ fingerprint: string }>(db, 'select distinct fingerprint from alert_events where labels @> $1::jsonb order by 1', [JSON.stringify(labels)])
      ).map((r) => r.fingerprint);
    expect(await events({ severity: 'critical' })).to.deep.equal(['f1374234d2285e8e']);
    expect(await events({ alertname: 'ProbeHighLatency', severity: 'warning' })).to.deep.equal(['d5216addea6a4d14']);
    expect(await events({ alertname: 'ProbeHighLatency' })).to.deep.equal(['d5216addea6a4d14', 'f1374234d2285e8e']);
    expect(await events({ severity: 'critical', namespace: 'staging' })).to.deep.equal([]);
    const current = await adminQuery<{ fingerprint: string }>(db, `select fingerprint from alerts where labels @> '{"namespace": "prod"}'`);
    expect(current).to.deep.equal([{ fingerprint: 'f1374234d2285e8e' }]);
  });

  it('keyset pagination over the history, newest first', async () => {
    const page = (cursor: { startsAt: Date; id: string } | undefined) =>
      adminQuery<{ id: string; starts_at: Date }>(
        db,
        `select id::text as id, starts_at from alert_events
          where ($1::timestamptz is null or (starts_at, id) < ($1::timestamptz, $2::bigint))
          order by starts_at desc, id desc limit 2`,
        [cursor?.startsAt ?? null, cursor?.id ?? null],
      );
    const first = await page(undefined);
    const last = first.at(-1);
    expect(first).to.have.length(2);
    const second = await page(last === undefined ? undefined : { startsAt: last.starts_at, id: last.id });
    const all = await adminQuery<{ id: string }>(db, 'select id::text as id from alert_events order by starts_at desc, id desc');
    expect(all).to.have.length(4);
    expect([...first, ...second].map((r) => r.id)).to.deep.equal(all.map((r) => r.id));
  });

  it('down to 0 leaves nothing but goose_db_version, and up applies again', async () => {
    const down = await migrate(db.url, { dir: MIGRATIONS, env: {}, direction: 'down', to: 0 });
    expect(down.applied.map((m) => `${m.direction} ${m.version}`)).to.deep.equal(['down 3', 'down 2', 'down 1']);
    expect(await tablesAndTypes(db)).to.deep.equal({ tables: ['goose_db_version'], types: [] });
    const up = await migrate(db.url, { dir: MIGRATIONS, env: {} });
    expect(up.version).to.equal(3);
    expect(await tablesAndTypes(db)).to.deep.equal({ tables: ['alert_events', 'alerts', 'goose_db_version'], types: ['alert_status'] });
    const redo = await migrate(db.url, { dir: MIGRATIONS, env: {}, direction: 'redo' });
    expect(redo.applied.map((m) => `${m.direction} ${m.version}`)).to.deep.equal(['down 3', 'up 3']);
  });
});
