import { expect } from 'chai';
import { sql } from 'kysely';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { createAlertRepository } from '../../../src/alerts/alert-repository.js';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';
import { failureOf } from '../../support/failure.js';
import { adminQuery, eventually } from '../dialect/dialect-support.js';
import { setUpAlerts, tableCounts, webhook, type AlertSpec, type AlertsFixture } from './alerts-support.js';

/** Counts the DELETE statements Kysely builds. */
class DeleteCounter implements KyselyPlugin {
  deletes = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'DeleteQueryNode') this.deletes += 1;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

const OLDER_THAN = new Date('2026-04-01T02:00:00Z');
const at = (time: string): string => `2026-04-01T${time}Z`;

describe('alert repository: purge', function () {
  let fixture: AlertsFixture;

  before(async () => {
    fixture = await setUpAlerts('alerts_purge');
  });
  beforeEach(async () => {
    await fixture.truncate();
  });
  after(async () => {
    await fixture?.close();
  });

  it('deletes old events and old resolved alerts in bounded batches, keeping every alert’s current firing episode', async () => {
    const specs: AlertSpec[] = [
      // resolved long ago: every event and the alert go
      { fingerprint: 'p1', status: 'firing', startsAt: at('00:00:00') },
      { fingerprint: 'p1', status: 'resolved', startsAt: at('00:00:00'), endsAt: at('00:30:00') },
      // firing for a month: its current episode stays, however old
      { fingerprint: 'p2', status: 'firing', startsAt: '2026-03-01T00:00:00Z' },
      // started before, resolved after olderThan: the events go, the alert (resolved recently) stays
      { fingerprint: 'p3', status: 'firing', startsAt: at('01:00:00') },
      { fingerprint: 'p3', status: 'resolved', startsAt: at('01:00:00'), endsAt: at('03:00:00') },
      // an old episode, and a new one firing: the old one goes
      { fingerprint: 'p4', status: 'firing', startsAt: at('00:00:00') },
      { fingerprint: 'p4', status: 'resolved', startsAt: at('00:00:00'), endsAt: at('00:10:00') },
      { fingerprint: 'p4', status: 'firing', startsAt: at('05:00:00') },
    ];
    await fixture.repo.ingest(webhook(specs));
    // 2,500 old resolved alerts
    const bulk: AlertSpec[] = Array.from({ length: 2500 }, (_, index) => {
      const startsAt = new Date(Date.parse(at('00:00:00')) + index * 1000).toISOString();
      return [
        { fingerprint: `bulk-${index}`, status: 'firing' as const, startsAt },
        { fingerprint: `bulk-${index}`, status: 'resolved' as const, startsAt, endsAt: at('01:59:59.999') },
      ];
    }).flat();
    await fixture.repo.ingest(webhook(bulk));
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 5008, alerts: 2504 });

    const counter = new DeleteCounter();
    const repo = createAlertRepository(fixture.db.withPlugin(counter));
    expect(await repo.purge(OLDER_THAN, { batchSize: 300 })).to.deep.equal({ deletedEvents: 5006, deletedAlerts: 2501 });
    // 5006 events: 16 batches of 300, one of 206, one that finds nothing; 2501 alerts: 8 + 1 + 1
    expect(counter.deletes).to.equal(18 + 10);

    const events = await fixture.db.selectFrom('alert_events').select(['fingerprint', 'status', 'starts_at']).orderBy('fingerprint').execute();
    expect(events.map((event) => [event.fingerprint, event.status, event.starts_at.toISOString()])).to.deep.equal([
      ['p2', 'firing', '2026-03-01T00:00:00.000Z'],
      ['p4', 'firing', '2026-04-01T05:00:00.000Z'],
    ]);
    const alerts = await fixture.db.selectFrom('alerts').select(['fingerprint', 'status']).orderBy('fingerprint').execute();
    expect(alerts).to.deep.equal([
      { fingerprint: 'p2', status: 'firing' },
      { fingerprint: 'p3', status: 'resolved' },
      { fingerprint: 'p4', status: 'firing' },
    ]);
    // nothing left to purge
    expect(await fixture.repo.purge(OLDER_THAN)).to.deep.equal({ deletedEvents: 0, deletedAlerts: 0 });
  });

  it('never deadlocks with an ingest that holds alert rows: rows locked by it are left for the next purge', async () => {
    // two old resolved alerts; b resolved first, so a purge takes it before a
    await fixture.repo.ingest(webhook([{ fingerprint: 'b', status: 'resolved', startsAt: at('00:00:00'), endsAt: at('00:10:00') }]));
    await fixture.repo.ingest(webhook([{ fingerprint: 'a', status: 'resolved', startsAt: at('00:00:00'), endsAt: at('00:20:00') }]));
    let purge: Promise<unknown> | undefined;
    // an ingest's upsert locks the rows of its alerts in fingerprint order: a, then b
    await fixture.db.transaction().execute(async (trx) => {
      await sql`select 1 from alerts where fingerprint = 'a' for update`.execute(trx);
      purge = fixture.repo.purge(OLDER_THAN, { batchSize: 10 }).catch((error: unknown) => error);
      // the purge has finished, or waits for a lock
      const settled = { done: false };
      void purge.then(() => (settled.done = true));
      await eventually(async () => {
        if (settled.done) return true;
        const rows = await adminQuery<{ n: string }>(
          fixture.testDb,
          "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike 'delete from%alerts%'",
        );
        return Number(rows[0]?.n) > 0;
      });
      await sql`select 1 from alerts where fingerprint = 'b' for update`.execute(trx);
    });
    const result = await purge;
    expect(result).to.not.be.instanceOf(Error);
    expect(result).to.deep.include({ deletedAlerts: 1 });
    expect(await fixture.repo.purge(OLDER_THAN)).to.deep.include({ deletedAlerts: 1 });
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 0, alerts: 0 });
  });

  it('refuses an invalid olderThan or batchSize before deleting anything', async () => {
    await fixture.repo.ingest(webhook([{ fingerprint: 'x', status: 'resolved', startsAt: at('00:00:00') }]));
    for (const [work, parameter] of [
      [fixture.repo.purge(new Date(Number.NaN)), 'olderThan'],
      [fixture.repo.purge('2026-01-01' as unknown as Date), 'olderThan'],
      [fixture.repo.purge(OLDER_THAN, { batchSize: 0 }), 'batchSize'],
      [fixture.repo.purge(OLDER_THAN, { batchSize: 1.5 }), 'batchSize'],
      [fixture.repo.purge(OLDER_THAN, { batchSize: 1_000_001 }), 'batchSize'],
    ] as const) {
      const error = await failureOf(work);
      expect(error).to.be.instanceOf(QueryParameterError);
      expect((error as QueryParameterError).parameter).to.equal(parameter);
    }
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 1, alerts: 1 });
  });
});
