import { Readable } from 'node:stream';
import { expect } from 'chai';
import { GO_ZERO_TIME, json, SAMPLE_FILES, sample, setUpService, webhook, type ServiceFixture } from './service-support.js';

interface EventJson {
  readonly fingerprint: string;
  readonly status: string;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly receiver: string;
  readonly labels: Record<string, string>;
}

describe('service: POST /webhook', () => {
  let fixture: ServiceFixture;

  before(async () => {
    fixture = await setUpService('svc-webhook', { service: { bodyLimitBytes: 64 * 1024 } });
  });

  after(async () => {
    await fixture?.close();
  });

  beforeEach(async () => {
    await fixture.truncate();
  });

  it("stores Alertmanager's four sample notifications in order; history, timeline and active alerts reflect them", async () => {
    const answers = [];
    for (const file of SAMPLE_FILES) {
      const response = await fixture.postWebhook(sample(file), { 'user-agent': 'Alertmanager/0.25.0' });
      expect(response.statusCode, response.body).to.equal(200);
      answers.push(json(response));
    }
    expect(answers).to.deep.equal([
      { status: 'ok', alerts: 2, newEvents: 2, duplicates: 0, alertsTouched: 2 },
      { status: 'ok', alerts: 1, newEvents: 1, duplicates: 0, alertsTouched: 1 },
      { status: 'ok', alerts: 2, newEvents: 1, duplicates: 1, alertsTouched: answers[2]?.alertsTouched },
      { status: 'ok', alerts: 1, newEvents: 1, duplicates: 0, alertsTouched: 1 },
    ]);

    const history = await fixture.get('/history');
    expect(history.statusCode).to.equal(200);
    const page = json<{ items: EventJson[]; nextCursor: string | null }>(history);
    expect(page.nextCursor).to.equal(null);
    expect(page.items.map((event) => `${event.fingerprint}/${event.status}`)).to.have.members([
      'd5216addea6a4d14/firing',
      'f1374234d2285e8e/firing',
      'f1374234d2285e8e/resolved',
      '169ce906710fc586/firing',
      '169ce906710fc586/resolved',
    ]);
    // newest first, dates as ISO strings
    const startTimes = page.items.map((event) => event.startsAt);
    expect([...startTimes].sort().reverse()).to.deep.equal(startTimes);
    expect(page.items.every((event) => event.receiver === 'webhook')).to.equal(true);
    const firstResolved = page.items.find((event) => event.fingerprint === 'f1374234d2285e8e' && event.status === 'resolved');
    expect(firstResolved?.startsAt).to.equal('2026-11-27T00:22:20.889Z');
    expect(firstResolved?.endsAt).to.equal('2026-11-27T00:22:33.163Z');

    const timeline = await fixture.get('/history/f1374234d2285e8e');
    expect(timeline.statusCode).to.equal(200);
    const body = json<{ fingerprint: string; events: EventJson[] }>(timeline);
    expect(body.fingerprint).to.equal('f1374234d2285e8e');
    expect(body.events.map((event) => [event.status, event.endsAt])).to.deep.equal([
      ['firing', null],
      ['resolved', '2026-11-27T00:22:33.163Z'],
    ]);

    const active = await fixture.get('/alerts/active');
    expect(active.statusCode).to.equal(200);
    const items = json<{ items: { fingerprint: string; status: string; labels: Record<string, string> }[] }>(active).items;
    expect(items.map((alert) => alert.fingerprint)).to.deep.equal(['d5216addea6a4d14']);
    expect(items[0]?.labels).to.deep.equal({ alertname: 'ProbeHighLatency', instance: 'api-1', severity: 'warning' });
  });

  it('answers the same notification twice with 200, and stores nothing new the second time', async () => {
    const first = await fixture.postWebhook(sample('01-firing-2alerts-firing.json'));
    expect(first.statusCode).to.equal(200);
    const before = await fixture.counts();
    const second = await fixture.postWebhook(sample('01-firing-2alerts-firing.json'));
    expect(second.statusCode).to.equal(200);
    expect(json(second)).to.include({ newEvents: 0, duplicates: 2 });
    expect(await fixture.counts()).to.deep.equal(before);
  });

  describe('refuses what is not a valid webhook, storing nothing', () => {
    afterEach(async () => {
      expect(await fixture.counts()).to.deep.equal({ events: 0, alerts: 0 });
    });

    it('a body that is not JSON: 400', async () => {
      const response = await fixture.postWebhook('{"version": "4", "alerts": [');
      expect(response.statusCode).to.equal(400);
      expect(json(response)).to.deep.equal({ error: 'request body is not valid JSON' });
    });

    it('another media type: 415 naming it; no body at all: 400', async () => {
      const text = await fixture.service.app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
      expect(text.statusCode).to.equal(415);
      expect(json(text).error).to.equal('Content-Type must be application/json (got "text/plain")');
      const form = await fixture.service.app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' });
      expect(form.statusCode).to.equal(415);
      const empty = await fixture.service.app.inject({ method: 'POST', url: '/webhook' });
      expect(empty.statusCode).to.equal(400);
      expect(json(empty).error).to.match(/body is empty/);
      const emptyJson = await fixture.postWebhook('');
      expect(emptyJson.statusCode).to.equal(400);
      expect(json(emptyJson).error).to.match(/body is empty/);
    });

    it('wrong types and missing fields: 400 listing every problem with its path', async () => {
      const body = sample('03-firing-2alerts-firing-resolved.json') as { alerts: Record<string, unknown>[]; version?: unknown; receiver?: unknown };
      delete body.version;
      body.receiver = 42;
      const [firing, resolved] = body.alerts;
      if (firing === undefined || resolved === undefined) throw new Error('sample 03 has two alerts');
      firing.startsAt = 'yesterday';
      delete resolved.fingerprint;
      resolved.labels = { severity: 3 };
      const response = await fixture.postWebhook(body);
      expect(response.statusCode).to.equal(400);
      const answer = json<{ error: string; problems: string[] }>(response);
      expect(answer.error).to.equal('invalid Alertmanager webhook');
      const problems = answer.problems.join('\n');
      for (const path of ['version', 'receiver', 'alerts[0].startsAt', 'alerts[1].fingerprint', 'alerts[1].labels.severity']) {
        expect(problems, path).to.include(`${path}:`);
      }
      expect(answer.problems.length).to.be.at.least(5);
    });

    it('an empty alerts list, and a body that is not an object: 400', async () => {
      const empty = await fixture.postWebhook({ ...sample('01-firing-2alerts-firing.json'), alerts: [] });
      expect(empty.statusCode).to.equal(400);
      expect(json<{ problems: string[] }>(empty).problems).to.deep.equal(['alerts: must not be empty']);
      const list = await fixture.postWebhook('[1, 2]');
      expect(list.statusCode).to.equal(400);
      expect(json<{ problems: string[] }>(list).problems).to.have.length(1);
    });

    it('NUL characters in labels or annotations: 400 naming the field', async () => {
      const response = await fixture.postWebhook(
        webhook([{ fingerprint: 'aaaaaaaaaaaaaaaa', status: 'firing', startsAt: '2026-11-27T00:00:00Z', labels: { alertname: 'Nul\u0000Byte' }, annotations: { summary: 'x\u0000' } }]),
      );
      expect(response.statusCode).to.equal(400);
      const problems = json<{ problems: string[] }>(response).problems.join('\n');
      expect(problems).to.include('alerts[0].labels.alertname:');
      expect(problems).to.include('alerts[0].annotations.summary:');
      expect(problems).to.include('NUL');
    });

    it('a body over the limit: 413 from its Content-Length, and from a chunked body without reading all of it', async () => {
      const big = JSON.stringify({ ...sample('01-firing-2alerts-firing.json'), padding: 'x'.repeat(10 * 1024 * 1024) });
      const declared = await fixture.postWebhook(big);
      expect(declared.statusCode).to.equal(413);
      expect(json(declared).error).to.equal('request body is larger than the limit of 65536 bytes (BODY_LIMIT_BYTES)');
      expect(declared.headers.connection).to.equal('close');

      // a chunked body (no Content-Length) that stalls after 2 MiB of its 10 MB: the answer must come without the rest
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const stream = new Readable({
        read() {
          if (sent < 2 * 1024 * 1024) {
            sent += chunk.length;
            this.push(chunk);
          }
        },
      });
      const chunked = await fixture.service.app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json' }, payload: stream });
      expect(chunked.statusCode).to.equal(413);
      expect(sent).to.be.below(10 * 1024 * 1024);
      stream.destroy();
    });

    it('a resolved alert without an end, and Go zero time as a start: 400', async () => {
      const response = await fixture.postWebhook(
        webhook([
          { fingerprint: 'bbbbbbbbbbbbbbbb', status: 'resolved', startsAt: '2026-11-27T00:00:00Z', endsAt: GO_ZERO_TIME },
          { fingerprint: 'cccccccccccccccc', status: 'firing', startsAt: GO_ZERO_TIME },
        ]),
      );
      expect(response.statusCode).to.equal(400);
      const problems = json<{ problems: string[] }>(response).problems.join('\n');
      expect(problems).to.include('alerts[0].endsAt:');
      expect(problems).to.include('alerts[1].startsAt:');
    });

    it('a start PostgreSQL would round into year 10000 (no cursor could page past it): 400', async () => {
      const response = await fixture.postWebhook(webhook([{ fingerprint: 'dddddddddddddddd', status: 'firing', startsAt: '9999-12-31T23:59:59.9999999Z' }]));
      expect(response.statusCode, response.body).to.equal(400);
      expect(json<{ problems: string[] }>(response).problems.join('\n')).to.include('alerts[0].startsAt:');
    });
  });

  it('405 with Allow for other methods on /webhook', async () => {
    const response = await fixture.service.app.inject({ method: 'GET', url: '/webhook' });
    expect(response.statusCode).to.equal(405);
    expect(response.headers.allow).to.equal('POST');
  });
});
