import { expect } from 'chai';
import { json, setUpService, webhook, type ServiceFixture } from './service-support.js';

/** "Now" of the service under test: default windows end here. */
const NOW = new Date('2026-11-27T12:00:00Z');

interface EventJson {
  readonly id: string;
  readonly fingerprint: string;
  readonly status: string;
  readonly startsAt: string;
}

const FLAPPY = 'aaaa000000000001';
const STEADY = 'bbbb000000000002';
const OLD = 'cccc000000000003';

const flappyLabels = { alertname: 'Flappy', severity: 'critical', namespace: 'prod' };
const steadyLabels = { alertname: 'Steady', severity: 'warning', namespace: 'dev' };
const oldLabels = { alertname: 'Old', severity: 'info', namespace: 'prod' };

/** Flappy fires and resolves three times today, Steady fires at 05:00 and still does, Old fired and resolved a week ago. */
async function loadHistory(fixture: ServiceFixture): Promise<void> {
  for (const hour of ['01', '02', '03']) {
    const startsAt = `2026-11-27T${hour}:00:00Z`;
    for (const status of ['firing', 'resolved'] as const) {
      const response = await fixture.postWebhook(webhook([{ fingerprint: FLAPPY, status, startsAt, labels: flappyLabels }], 'team-a'));
      expect(response.statusCode, response.body).to.equal(200);
    }
  }
  expect((await fixture.postWebhook(webhook([{ fingerprint: STEADY, status: 'firing', startsAt: '2026-11-27T05:00:00Z', labels: steadyLabels }], 'team-a'))).statusCode).to.equal(200);
  for (const status of ['firing', 'resolved'] as const) {
    const response = await fixture.postWebhook(webhook([{ fingerprint: OLD, status, startsAt: '2026-11-20T00:00:00Z', labels: oldLabels }], 'team-b'));
    expect(response.statusCode).to.equal(200);
  }
}

describe('service: the GET endpoints', () => {
  let fixture: ServiceFixture;

  before(async () => {
    fixture = await setUpService('svc-history', { service: { now: () => NOW } });
    await loadHistory(fixture);
  });

  after(async () => {
    await fixture?.close();
  });

  /** `GET url`, expecting 200; the events' fingerprint/status pairs. */
  async function events(url: string): Promise<string[]> {
    const response = await fixture.get(url);
    expect(response.statusCode, response.body).to.equal(200);
    return json<{ items: EventJson[] }>(response).items.map((event) => `${event.fingerprint}/${event.status}`);
  }

  /** `GET url`, expecting 400 naming `parameter`. */
  async function refused(url: string, parameter: string): Promise<string> {
    const response = await fixture.get(url);
    expect(response.statusCode, `${url}: ${response.body}`).to.equal(400);
    const body = json<{ error: string; parameter: string }>(response);
    expect(body.parameter, url).to.equal(parameter);
    expect(body.error, url).to.include(parameter);
    return body.error;
  }

  describe('GET /history', () => {
    it('filters by status, alertname, severity, namespace, fingerprint and receiver', async () => {
      expect(await events('/history')).to.have.length(9);
      expect(await events('/history?status=firing')).to.have.length(5);
      expect(await events('/history?status=resolved')).to.have.length(4);
      expect(await events('/history?alertname=Flappy')).to.have.length(6);
      expect(await events('/history?severity=warning')).to.deep.equal([`${STEADY}/firing`]);
      expect(await events('/history?namespace=prod')).to.have.length(8);
      expect(await events(`/history?fingerprint=${OLD}`)).to.have.members([`${OLD}/firing`, `${OLD}/resolved`]);
      expect(await events('/history?receiver=team-b')).to.have.length(2);
      expect(await events('/history?alertname=Flappy&status=firing&receiver=team-a')).to.have.length(3);
      expect(await events('/history?alertname=Nothing')).to.deep.equal([]);
    });

    it('filters by label matchers: =, !=, =~, !~ (full match), several at once', async () => {
      expect(await events('/history?label=severity%3D~crit.*')).to.have.length(6);
      expect(await events('/history?label=severity%3D~crit')).to.deep.equal([]);
      expect(await events('/history?label=namespace!%3Dprod')).to.deep.equal([`${STEADY}/firing`]);
      expect(await events('/history?label=severity!~(critical|warning)')).to.have.members([`${OLD}/firing`, `${OLD}/resolved`]);
      expect(await events('/history?label=namespace%3Dprod&label=alertname%3DOld')).to.have.length(2);
      expect(await events('/history?label=team%3D')).to.have.length(9);
    });

    it('filters by time (from inclusive, to exclusive, RFC 3339 with any offset)', async () => {
      expect(await events('/history?from=2026-11-27T00:00:00Z')).to.have.length(7);
      expect(await events('/history?to=2026-11-27T00:00:00Z')).to.have.length(2);
      expect(await events('/history?from=2026-11-27T06:00:00%2B05:00&to=2026-11-27T02:00:00.000Z')).to.have.length(2);
      // an unencoded + arrives as a space
      expect(await events('/history?from=2026-11-27T06:00:00+05:00&to=2026-11-27T02:00:00Z')).to.have.length(2);
    });

    it('pages newest first with limit and cursor until nextCursor is null', async () => {
      const seen: EventJson[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await fixture.get(`/history?limit=4${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        expect(response.statusCode).to.equal(200);
        const page = json<{ items: EventJson[]; nextCursor: string | null }>(response);
        expect(page.items.length).to.be.at.most(4);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).to.equal(3);
      expect(new Set(seen.map((event) => event.id)).size).to.equal(9);
      const starts = seen.map((event) => event.startsAt);
      expect([...starts].sort().reverse()).to.deep.equal(starts);
    });

    it('answers 400 naming the parameter: unknown, repeated, empty, malformed, out of range', async () => {
      expect(await refused('/history?foo=1', 'foo')).to.include('unknown parameter');
      await refused('/history?status=open', 'status');
      expect(await refused('/history?status=firing&status=resolved', 'status')).to.include('once');
      expect(await refused('/history?alertname=', 'alertname')).to.include('empty');
      await refused('/history?limit=0', 'limit');
      await refused('/history?limit=1001', 'limit');
      await refused('/history?limit=ten', 'limit');
      await refused('/history?from=yesterday', 'from');
      await refused('/history?to=2026-13-01T00:00:00Z', 'to');
      await refused('/history?from=2026-02-30T00:00:00Z', 'from');
      await refused('/history?from=2026-11-27T02:00:00Z&to=2026-11-27T01:00:00Z', 'from');
      await refused('/history?label=severity', 'label');
      await refused('/history?label=%3Dvalue', 'label');
      await refused('/history?label=severity%3D~(unclosed', 'label');
      await refused('/history?cursor=not-a-cursor', 'cursor');
      await refused('/history?fingerprint=a%00b', 'fingerprint');
    });

    it('serves HEAD like GET, without a body', async () => {
      const response = await fixture.service.app.inject({ method: 'HEAD', url: '/history' });
      expect(response.statusCode).to.equal(200);
      expect(response.body).to.equal('');
    });
  });

  describe('GET /history/:fingerprint', () => {
    it("answers one alert's timeline, oldest first", async () => {
      const response = await fixture.get(`/history/${FLAPPY}`);
      expect(response.statusCode).to.equal(200);
      const body = json<{ fingerprint: string; events: EventJson[] }>(response);
      expect(body.fingerprint).to.equal(FLAPPY);
      expect(body.events.map((event) => `${event.startsAt.slice(11, 13)}/${event.status}`)).to.deep.equal([
        '01/firing',
        '01/resolved',
        '02/firing',
        '02/resolved',
        '03/firing',
        '03/resolved',
      ]);
    });

    it('answers 404 for an unknown fingerprint, 400 for any parameter', async () => {
      const unknown = await fixture.get('/history/ffffffffffffffff');
      expect(unknown.statusCode).to.equal(404);
      expect(json(unknown)).to.deep.equal({ error: 'no alert with this fingerprint', fingerprint: 'ffffffffffffffff' });
      await refused(`/history/${FLAPPY}?limit=1`, 'limit');
    });
  });

  describe('GET /alerts/active', () => {
    it('answers the alerts firing now', async () => {
      const response = await fixture.get('/alerts/active');
      expect(response.statusCode).to.equal(200);
      const items = json<{ items: { fingerprint: string; status: string; startsAt: string; firingEpisodes: number }[] }>(response).items;
      expect(items.map((alert) => [alert.fingerprint, alert.status, alert.startsAt])).to.deep.equal([[STEADY, 'firing', '2026-11-27T05:00:00.000Z']]);
      await refused('/alerts/active?status=firing', 'status');
    });
  });

  describe('GET /history/top', () => {
    it('answers the noisiest alerts of the window (default 24h up to now, or window, or from/to)', async () => {
      const response = await fixture.get('/history/top');
      expect(response.statusCode).to.equal(200);
      const body = json<{ window: { from: string; to: string }; items: { fingerprint: string; alertname: string; firingEpisodes: number }[] }>(response);
      expect(body.window).to.deep.equal({ from: '2026-11-26T12:00:00.000Z', to: '2026-11-27T12:00:00.000Z' });
      expect(body.items.map((alert) => [alert.fingerprint, alert.alertname, alert.firingEpisodes])).to.deep.equal([
        [FLAPPY, 'Flappy', 3],
        [STEADY, 'Steady', 1],
      ]);
      const top = async (query: string): Promise<string[]> => {
        const answer = await fixture.get(`/history/top?${query}`);
        expect(answer.statusCode, answer.body).to.equal(200);
        return json<{ items: { fingerprint: string }[] }>(answer).items.map((alert) => alert.fingerprint);
      };
      expect(await top('limit=1')).to.deep.equal([FLAPPY]);
      expect(await top('window=30d')).to.deep.equal([FLAPPY, STEADY, OLD]);
      expect(await top('window=2h&to=2026-11-27T04:00:00Z')).to.deep.equal([FLAPPY]);
      expect(await top('from=2026-11-19T00:00:00Z&to=2026-11-21T00:00:00Z')).to.deep.equal([OLD]);
    });

    it('answers 400 naming the parameter', async () => {
      await refused('/history/top?window=0s', 'window');
      await refused('/history/top?window=1y', 'window');
      await refused('/history/top?window=401d', 'window');
      await refused('/history/top?window=24h&from=2026-11-27T00:00:00Z', 'window');
      await refused('/history/top?from=2026-11-27T00:00:00Z&to=2026-11-27T00:00:00Z', 'from');
      await refused('/history/top?limit=0', 'limit');
      await refused('/history/top?minTransitions=2', 'minTransitions');
    });
  });

  describe('GET /history/flapping', () => {
    it('answers alerts with at least minTransitions state changes in the window (default 4)', async () => {
      const response = await fixture.get('/history/flapping');
      expect(response.statusCode).to.equal(200);
      const body = json<{ minTransitions: number; items: { fingerprint: string; transitions: number; transitionsPerHour: number }[] }>(response);
      expect(body.minTransitions).to.equal(4);
      expect(body.items.map((alert) => [alert.fingerprint, alert.transitions, alert.transitionsPerHour])).to.deep.equal([[FLAPPY, 6, 0.25]]);
      const flapping = async (query: string): Promise<string[]> => {
        const answer = await fixture.get(`/history/flapping?${query}`);
        expect(answer.statusCode, answer.body).to.equal(200);
        return json<{ items: { fingerprint: string }[] }>(answer).items.map((alert) => alert.fingerprint);
      };
      expect(await flapping('minTransitions=7')).to.deep.equal([]);
      expect(await flapping('minTransitions=1')).to.deep.equal([FLAPPY, STEADY]);
      expect(await flapping('minTransitions=2&window=2h&to=2026-11-27T02:30:00Z')).to.deep.equal([FLAPPY]);
    });

    it('answers 400 naming the parameter', async () => {
      await refused('/history/flapping?minTransitions=0', 'minTransitions');
      await refused('/history/flapping?minTransitions=many', 'minTransitions');
      await refused('/history/flapping?window=forever', 'window');
      await refused('/history/flapping?limit=3', 'limit');
    });
  });

  describe('GET /history/stats', () => {
    it('answers counts per bucket and the time to resolve over the window', async () => {
      const response = await fixture.get('/history/stats?window=24h&bucket=1h');
      expect(response.statusCode).to.equal(200);
      const stats = json<{
        window: { from: string; to: string };
        bucketMs: number;
        buckets: { start: string; byStatus: { firing: number; resolved: number }; bySeverity: Record<string, number> }[];
        meanTimeToResolveSeconds: number | null;
      }>(response);
      expect(stats.window).to.deep.equal({ from: '2026-11-26T12:00:00.000Z', to: '2026-11-27T12:00:00.000Z' });
      expect(stats.bucketMs).to.equal(3_600_000);
      expect(stats.buckets).to.have.length(24);
      expect(stats.buckets[0]?.start).to.equal('2026-11-26T12:00:00.000Z');
      const total = stats.buckets.reduce((sum, bucket) => sum + bucket.byStatus.firing + bucket.byStatus.resolved, 0);
      expect(total).to.equal(7);
      expect(stats.meanTimeToResolveSeconds).to.equal(60);

      const daily = await fixture.get('/history/stats?from=2026-11-20T00:00:00Z&to=2026-11-28T00:00:00Z&bucket=1d');
      expect(daily.statusCode).to.equal(200);
      expect(json<{ buckets: unknown[] }>(daily).buckets).to.have.length(8);
    });

    it('answers 400 naming the parameter', async () => {
      await refused('/history/stats?bucket=500ms', 'bucket');
      await refused('/history/stats?bucket=1s&window=7d', 'bucket');
      await refused('/history/stats?bucket=hourly', 'bucket');
      await refused('/history/stats?window=24h&bucket=1h&limit=5', 'limit');
    });
  });
});
