import { expect } from 'chai';
import { sql } from 'kysely';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';
import { WebhookValidationError } from '../../../src/alerts/webhook-validation.js';
import { failureOf } from '../../support/failure.js';
import { GO_ZERO_TIME, SAMPLE_FILES, sample, setUpAlerts, tableCounts, webhook, type AlertSpec, type AlertsFixture } from './alerts-support.js';

const T0 = Date.parse('2026-11-27T00:23:00Z');
const receivedAt = (n: number): Date => new Date(T0 + n * 1000);

/** Both tables, every column, in a stable order: to show that something changed nothing. */
async function snapshot(fixture: AlertsFixture): Promise<unknown[]> {
  const events = await fixture.db.selectFrom('alert_events').selectAll().orderBy('id').execute();
  const alerts = await fixture.db.selectFrom('alerts').selectAll().orderBy('fingerprint').execute();
  return [events, alerts];
}

describe('alert repository: ingest', function () {
  let fixture: AlertsFixture;

  before(async () => {
    fixture = await setUpAlerts('alerts_ingest');
  });
  beforeEach(async () => {
    await fixture.truncate();
  });
  after(async () => {
    await fixture?.close();
  });

  it('stores the four sample webhooks, in order, as their history and current state', async () => {
    const results = [];
    for (const [index, file] of SAMPLE_FILES.entries()) results.push(await fixture.repo.ingest(sample(file), { receivedAt: receivedAt(index + 1) }));
    expect(results).to.deep.equal([
      { newEvents: 2, duplicates: 0, alertsTouched: 2 },
      { newEvents: 1, duplicates: 0, alertsTouched: 1 },
      // d5216… re-sent (duplicate, but seen again: last_seen_at), f1374… resolved
      { newEvents: 1, duplicates: 1, alertsTouched: 2 },
      { newEvents: 1, duplicates: 0, alertsTouched: 1 },
    ]);

    const events = await fixture.db
      .selectFrom('alert_events')
      .select([
        'fingerprint',
        'status',
        'alertname',
        sql<string>`to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`.as('starts'),
        sql<string | null>`to_char(ends_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`.as('ends'),
        'received_at',
        'receiver',
        'group_key',
        'generator_url',
      ])
      .orderBy('id')
      .execute();
    expect(events.map(({ received_at: at, ...rest }) => ({ ...rest, received: at.getTime() }))).to.deep.equal([
      // microseconds kept, nanoseconds rounded by the server (…869610604 → …869611)
      {
        fingerprint: 'd5216addea6a4d14',
        status: 'firing',
        alertname: 'ProbeHighLatency',
        starts: '2026-11-27T00:22:20.869611',
        ends: null,
        received: receivedAt(1).getTime(),
        receiver: 'webhook',
        group_key: '{}:{alertname="ProbeHighLatency"}',
        generator_url: 'http://127.0.0.1:9090/graph',
      },
      {
        fingerprint: 'f1374234d2285e8e',
        status: 'firing',
        alertname: 'ProbeHighLatency',
        starts: '2026-11-27T00:22:20.889481',
        ends: null,
        received: receivedAt(1).getTime(),
        receiver: 'webhook',
        group_key: '{}:{alertname="ProbeHighLatency"}',
        generator_url: '',
      },
      {
        fingerprint: '169ce906710fc586',
        status: 'firing',
        alertname: 'ProbeDiskFull',
        starts: '2026-11-27T00:22:20.910924',
        ends: null,
        received: receivedAt(2).getTime(),
        receiver: 'webhook',
        group_key: '{}:{alertname="ProbeDiskFull"}',
        generator_url: '',
      },
      {
        fingerprint: 'f1374234d2285e8e',
        status: 'resolved',
        alertname: 'ProbeHighLatency',
        starts: '2026-11-27T00:22:20.889481',
        ends: '2026-11-27T00:22:33.163000',
        received: receivedAt(3).getTime(),
        receiver: 'webhook',
        group_key: '{}:{alertname="ProbeHighLatency"}',
        generator_url: '',
      },
      {
        fingerprint: '169ce906710fc586',
        status: 'resolved',
        alertname: 'ProbeDiskFull',
        starts: '2026-11-27T00:22:20.910924',
        ends: '2026-11-27T00:22:41.000000',
        received: receivedAt(4).getTime(),
        receiver: 'webhook',
        group_key: '{}:{alertname="ProbeDiskFull"}',
        generator_url: '',
      },
    ]);

    const states = await fixture.db.selectFrom('alerts').selectAll().orderBy('fingerprint').execute();
    expect(
      states.map((row) => ({
        fingerprint: row.fingerprint,
        status: row.status,
        alertname: row.alertname,
        endsAt: row.ends_at?.toISOString() ?? null,
        firstSeen: row.first_seen_at.toISOString(),
        lastSeen: row.last_seen_at.getTime(),
        lastReceived: row.last_received_at.getTime(),
        episodes: row.firing_episodes,
      })),
    ).to.deep.equal([
      {
        fingerprint: '169ce906710fc586',
        status: 'resolved',
        alertname: 'ProbeDiskFull',
        endsAt: '2026-11-27T00:22:41.000Z',
        firstSeen: '2026-11-27T00:22:20.910Z',
        lastSeen: receivedAt(4).getTime(),
        lastReceived: receivedAt(4).getTime(),
        episodes: 1,
      },
      {
        fingerprint: 'd5216addea6a4d14',
        status: 'firing',
        alertname: 'ProbeHighLatency',
        endsAt: null,
        firstSeen: '2026-11-27T00:22:20.869Z',
        // seen again in 03, but its state arrived with 01
        lastSeen: receivedAt(3).getTime(),
        lastReceived: receivedAt(1).getTime(),
        episodes: 1,
      },
      {
        fingerprint: 'f1374234d2285e8e',
        status: 'resolved',
        alertname: 'ProbeHighLatency',
        endsAt: '2026-11-27T00:22:33.163Z',
        firstSeen: '2026-11-27T00:22:20.889Z',
        lastSeen: receivedAt(3).getTime(),
        lastReceived: receivedAt(3).getTime(),
        episodes: 1,
      },
    ]);

    const timeline = await fixture.repo.timeline('f1374234d2285e8e');
    expect(timeline.map((event) => [event.status, event.startsAt.toISOString(), event.endsAt?.toISOString() ?? null])).to.deep.equal([
      ['firing', '2026-11-27T00:22:20.889Z', null],
      ['resolved', '2026-11-27T00:22:20.889Z', '2026-11-27T00:22:33.163Z'],
    ]);
    expect(timeline[1]).to.include({ fingerprint: 'f1374234d2285e8e', alertname: 'ProbeHighLatency', receiver: 'webhook', generatorURL: '' });
    expect(timeline[1]?.labels).to.deep.equal({ alertname: 'ProbeHighLatency', instance: 'api-2', severity: 'critical' });
    expect(timeline[1]?.annotations).to.deep.equal({ summary: 'p99 latency above 5s' });
    expect(timeline[1]?.id).to.be.a('string');

    const active = await fixture.repo.active();
    expect(active.map((state) => state.fingerprint)).to.deep.equal(['d5216addea6a4d14']);
    expect(active[0]).to.include({ status: 'firing', alertname: 'ProbeHighLatency', firingEpisodes: 1, endsAt: null, receiver: 'webhook' });
    expect(active[0]?.labels).to.deep.equal({ alertname: 'ProbeHighLatency', instance: 'api-1', severity: 'warning' });
  });

  it('changes nothing when the same webhook comes again (0 new, every alert a duplicate)', async () => {
    for (const [index, file] of SAMPLE_FILES.entries()) await fixture.repo.ingest(sample(file), { receivedAt: receivedAt(index + 1) });
    const before = await snapshot(fixture);
    for (const [index, file] of SAMPLE_FILES.entries()) {
      const again = await fixture.repo.ingest(sample(file), { receivedAt: receivedAt(index + 1) });
      expect(again).to.deep.equal({ newEvents: 0, duplicates: (sample(file).alerts as unknown[]).length, alertsTouched: 0 });
    }
    expect(await snapshot(fixture)).to.deep.equal(before);

    // received later: still no event, only last_seen_at moves (Alertmanager still sends the alert)
    const later = await fixture.repo.ingest(sample('03-firing-2alerts-firing-resolved.json'), { receivedAt: receivedAt(10) });
    expect(later).to.deep.equal({ newEvents: 0, duplicates: 2, alertsTouched: 2 });
    const states = await fixture.db.selectFrom('alerts').select(['fingerprint', 'last_seen_at', 'last_received_at', 'status']).orderBy('fingerprint').execute();
    expect(states.map((row) => [row.fingerprint, row.status, row.last_seen_at.getTime(), row.last_received_at.getTime()])).to.deep.equal([
      ['169ce906710fc586', 'resolved', receivedAt(4).getTime(), receivedAt(4).getTime()],
      ['d5216addea6a4d14', 'firing', receivedAt(10).getTime(), receivedAt(1).getTime()],
      ['f1374234d2285e8e', 'resolved', receivedAt(10).getTime(), receivedAt(3).getTime()],
    ]);
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 5, alerts: 3 });
  });

  it('keeps the newest state when an older one arrives late, and counts every firing episode once', async () => {
    const fp = 'aaaaaaaaaaaaaaaa';
    const t1 = '2026-01-01T10:00:00.000001Z';
    const t2 = '2026-01-01T11:00:00Z';
    // the second episode first
    await fixture.repo.ingest(webhook([{ fingerprint: fp, status: 'firing', startsAt: t2 }]), { receivedAt: receivedAt(1) });
    // the first episode's resolution, late: stored, but not the current state
    expect(await fixture.repo.ingest(webhook([{ fingerprint: fp, status: 'resolved', startsAt: t1 }]), { receivedAt: receivedAt(2) })).to.deep.equal({
      newEvents: 1,
      duplicates: 0,
      alertsTouched: 1,
    });
    // the first episode's firing, later still: a new episode for the count, and an earlier first_seen_at
    await fixture.repo.ingest(webhook([{ fingerprint: fp, status: 'firing', startsAt: t1 }]), { receivedAt: receivedAt(3) });
    let state = await fixture.db.selectFrom('alerts').selectAll().executeTakeFirstOrThrow();
    expect(state).to.include({ status: 'firing', ends_at: null, firing_episodes: 2 });
    expect(state.starts_at.toISOString()).to.equal('2026-01-01T11:00:00.000Z');
    expect(state.first_seen_at.toISOString()).to.equal('2026-01-01T10:00:00.000Z');
    expect(state.last_received_at.getTime()).to.equal(receivedAt(1).getTime());
    expect(state.last_seen_at.getTime()).to.equal(receivedAt(3).getTime());

    // the second episode resolves (same startsAt, later status): it wins
    await fixture.repo.ingest(webhook([{ fingerprint: fp, status: 'resolved', startsAt: t2, endsAt: '2026-01-01T11:30:00Z' }]), { receivedAt: receivedAt(4) });
    // and its firing state, re-sent late, does not bring it back
    expect(await fixture.repo.ingest(webhook([{ fingerprint: fp, status: 'firing', startsAt: t2 }]), { receivedAt: receivedAt(4) })).to.deep.equal({
      newEvents: 0,
      duplicates: 1,
      alertsTouched: 0,
    });
    state = await fixture.db.selectFrom('alerts').selectAll().executeTakeFirstOrThrow();
    expect(state).to.include({ status: 'resolved', firing_episodes: 2 });
    expect(state.ends_at?.toISOString()).to.equal('2026-01-01T11:30:00.000Z');
    expect(state.last_received_at.getTime()).to.equal(receivedAt(4).getTime());
    expect((await fixture.repo.timeline(fp)).map((event) => `${event.startsAt.toISOString()} ${event.status}`)).to.deep.equal([
      '2026-01-01T10:00:00.000Z firing',
      '2026-01-01T10:00:00.000Z resolved',
      '2026-01-01T11:00:00.000Z firing',
      '2026-01-01T11:00:00.000Z resolved',
    ]);
  });

  it('takes several states of one alert in one webhook, in any order, and counts repeated ones as duplicates', async () => {
    const fp = 'bbbbbbbbbbbbbbbb';
    const result = await fixture.repo.ingest(
      webhook([
        { fingerprint: fp, status: 'resolved', startsAt: '2026-01-01T00:00:00Z' },
        { fingerprint: fp, status: 'firing', startsAt: '2026-01-01T01:00:00Z' },
        { fingerprint: fp, status: 'firing', startsAt: '2026-01-01T00:00:00Z' },
        { fingerprint: fp, status: 'firing', startsAt: '2026-01-01T01:00:00Z' },
      ]),
      { receivedAt: receivedAt(1) },
    );
    expect(result).to.deep.equal({ newEvents: 3, duplicates: 1, alertsTouched: 1 });
    const state = await fixture.db.selectFrom('alerts').selectAll().executeTakeFirstOrThrow();
    expect(state).to.include({ status: 'firing', firing_episodes: 2 });
    expect(state.starts_at.toISOString()).to.equal('2026-01-01T01:00:00.000Z');
  });

  it('stores a firing alert’s endsAt as NULL (Go’s zero time or not), a resolved one’s as sent, and accepts offsets and lower-case t/z', async () => {
    await fixture.repo.ingest(
      webhook([
        { fingerprint: 'c1', status: 'firing', startsAt: '2026-01-01T00:00:00Z', endsAt: GO_ZERO_TIME },
        // Prometheus-style end in the future: not an end
        { fingerprint: 'c2', status: 'firing', startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-01-01T00:04:00Z' },
        { fingerprint: 'c3', status: 'resolved', startsAt: '2026-01-01t01:00:00.5+01:00', endsAt: '2026-01-01t00:10:00.123456789z' },
      ]),
    );
    const rows = await fixture.db
      .selectFrom('alert_events')
      .select(['fingerprint', 'starts_at', sql<string | null>`to_char(ends_at at time zone 'UTC', 'HH24:MI:SS.US')`.as('ends')])
      .orderBy('fingerprint')
      .execute();
    expect(rows.map((row) => [row.fingerprint, row.starts_at.toISOString(), row.ends])).to.deep.equal([
      ['c1', '2026-01-01T00:00:00.000Z', null],
      ['c2', '2026-01-01T00:00:00.000Z', null],
      ['c3', '2026-01-01T00:00:00.500Z', '00:10:00.123457'],
    ]);
    // received_at defaults to the transaction's now(), the same in both tables
    const times = await fixture.db
      .selectFrom('alert_events as e')
      .innerJoin('alerts as a', 'a.fingerprint', 'e.fingerprint')
      .select(['e.received_at', 'a.last_seen_at', 'a.last_received_at'])
      .execute();
    for (const row of times) {
      expect(row.last_seen_at.getTime()).to.equal(row.received_at.getTime());
      expect(row.last_received_at.getTime()).to.equal(row.received_at.getTime());
    }
  });

  it('stores SQL text, quotes, control characters and any Unicode in labels and annotations exactly', async () => {
    const labels = {
      alertname: "Robert'); DROP TABLE alerts; --",
      'weird name"\\': '$1 $$ :name ? %s \\x00',
      control: '\u0001\u0002\t\n\r\u001b[31m\u007f\u0085\u2028',
      unicode: 'é ✓ 😀 \uFEFF',
      json: '{"a": [1, 2]}',
      empty: '',
    };
    const annotations = { "'; select pg_sleep(10); --": 'x', description: 'line 1\nline 2\u0000'.replace('\u0000', '') };
    const result = await fixture.repo.ingest(webhook([{ fingerprint: "fp'--", status: 'firing', startsAt: '2026-01-01T00:00:00Z', labels, annotations }], "recv'; --", 'group"\u0007'));
    expect(result.newEvents).to.equal(1);
    const [event] = await fixture.repo.timeline("fp'--");
    expect(event?.labels).to.deep.equal(labels);
    expect(event?.annotations).to.deep.equal(annotations);
    expect(event).to.include({ alertname: labels.alertname, receiver: "recv'; --", groupKey: 'group"\u0007' });
    const [state] = await fixture.repo.active();
    expect(state?.labels).to.deep.equal(labels);
    // and found by its values, through parameters
    const page = await fixture.repo.history({ alertname: labels.alertname, labels: [{ name: 'weird name"\\', op: '=', value: labels['weird name"\\'] }] });
    expect(page.items.map((item) => item.fingerprint)).to.deep.equal(["fp'--"]);
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 1, alerts: 1 });
  });

  it('refuses invalid webhooks with every problem listed, and stores nothing', async () => {
    await fixture.repo.ingest(sample('01-firing-2alerts-firing.json'));
    const before = await snapshot(fixture);
    const valid = sample('03-firing-2alerts-firing-resolved.json');
    const alerts = valid.alerts as Record<string, unknown>[];
    const cases: { body: unknown; problems: string[] }[] = [
      { body: null, problems: ['(body): must be a JSON object; got null'] },
      { body: [valid], problems: ['(body): must be a JSON object; got an array'] },
      {
        body: { ...valid, version: 4, receiver: 7, status: 'pending', groupKey: undefined },
        problems: [
          'version: must be "4" (Alertmanager\'s webhook version); got a number',
          'receiver: must be a string; got a number',
          'status: must be "firing" or "resolved"; got "pending"',
          'groupKey: required',
        ],
      },
      { body: { ...valid, alerts: [] }, problems: ['alerts: must not be empty'] },
      { body: { ...valid, alerts: {} }, problems: ['alerts: must be an array of alerts; got an object'] },
      {
        body: {
          ...valid,
          alerts: [
            alerts[0],
            { ...alerts[1], startsAt: '2026-11-27 00:22:20Z', labels: { a: 1, '': 'x' }, fingerprint: '' },
            { ...alerts[1], status: 'resolved', endsAt: GO_ZERO_TIME, annotations: { note: 'nul\u0000' } },
            { ...alerts[0], labels: { 'bad\u0000name': 'v' }, generatorURL: null },
            'not an alert',
          ],
        },
        problems: [
          'alerts[1].labels.a: label value must be a string; got a number',
          'alerts[1].labels[""]: label name must not be empty',
          'alerts[1].startsAt: not an RFC 3339 time (years 0001 to 9999, e.g. 2026-11-27T00:22:20.869610604Z); got "2026-11-27 00:22:20Z"',
          'alerts[1].fingerprint: must not be empty',
          'alerts[2].annotations.note: value contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold',
          "alerts[2].endsAt: a resolved alert needs the time it ended, not Go's zero time",
          'alerts[3].labels["bad\\u0000name"]: label name contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold',
          'alerts[3].generatorURL: must be a string; got null',
          'alerts[4]: must be an object; got a string',
        ],
      },
    ];
    for (const { body, problems } of cases) {
      const error = await failureOf(fixture.repo.ingest(body));
      expect(error).to.be.instanceOf(WebhookValidationError);
      const invalid = error as WebhookValidationError;
      expect(invalid.problems).to.deep.equal(problems);
      expect(invalid).to.include({ kind: 'data', code: 'INVALID_WEBHOOK', retryable: false });
      for (const problem of problems) expect(invalid.message).to.include(problem);
    }
    expect(await snapshot(fixture)).to.deep.equal(before);
  });

  it('refuses an invalid receivedAt before storing anything', async () => {
    const error = await failureOf(fixture.repo.ingest(sample('01-firing-2alerts-firing.json'), { receivedAt: new Date(Number.NaN) }));
    expect(error).to.be.instanceOf(QueryParameterError);
    expect((error as QueryParameterError).parameter).to.equal('receivedAt');
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 0, alerts: 0 });
  });

  it('stores a webhook of 10,000 alerts (more rows than one statement’s bind parameters allow) in one transaction', async () => {
    const specs: AlertSpec[] = Array.from({ length: 10_000 }, (_, index) => ({
      fingerprint: `big-${String(index).padStart(5, '0')}`,
      status: index % 3 === 0 ? 'resolved' : 'firing',
      startsAt: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
      labels: { alertname: 'Big', index: String(index) },
    }));
    expect(await fixture.repo.ingest(webhook(specs), { receivedAt: receivedAt(1) })).to.deep.equal({ newEvents: 10_000, duplicates: 0, alertsTouched: 10_000 });
    expect(await fixture.repo.ingest(webhook(specs), { receivedAt: receivedAt(1) })).to.deep.equal({ newEvents: 0, duplicates: 10_000, alertsTouched: 0 });
    expect(await tableCounts(fixture.db)).to.deep.equal({ events: 10_000, alerts: 10_000 });
    const tooMany = await failureOf(fixture.repo.ingest(webhook([...specs, ...specs.slice(0, 1)])));
    expect((tooMany as WebhookValidationError).problems).to.deep.equal(['alerts: at most 10000 alerts per webhook; got 10001 (lower Alertmanager\'s max_alerts)']);
  });
});
