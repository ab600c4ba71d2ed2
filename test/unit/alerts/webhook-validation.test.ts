import { expect } from 'chai';
import { AlertHistoryDbError } from '../../../src/errors/alert-history-db-error.js';
import { MAX_WEBHOOK_ALERTS, parseWebhook, validateWebhook, WebhookValidationError } from '../../../src/alerts/webhook-validation.js';

const ZERO = '0001-01-01T00:00:00Z';

function alert(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: 'firing',
    labels: { alertname: 'ProbeHighLatency', severity: 'warning' },
    annotations: { summary: 'p99 latency above 1s' },
    startsAt: '2026-11-27T00:22:20.869610604Z',
    endsAt: ZERO,
    generatorURL: 'http://127.0.0.1:9090/graph',
    fingerprint: 'd5216addea6a4d14',
    ...overrides,
  };
}

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '4', receiver: 'webhook', status: 'firing', groupKey: '{}:{alertname="X"}', alerts: [alert()], ...overrides };
}

function problemsOf(value: unknown): readonly string[] {
  const result = validateWebhook(value);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('validateWebhook', () => {
  it('accepts a version 4 webhook and returns the known fields only (a copy)', () => {
    const input = body({
      extra: 'ignored',
      groupLabels: { alertname: 'X' },
      commonLabels: {},
      commonAnnotations: { a: 'b' },
      externalURL: 'http://am',
      truncatedAlerts: 0,
      alerts: [alert({ unknown: 1 })],
    });
    const result = validateWebhook(input);
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.value).to.deep.equal({
      version: '4',
      receiver: 'webhook',
      status: 'firing',
      groupKey: '{}:{alertname="X"}',
      groupLabels: { alertname: 'X' },
      commonLabels: {},
      commonAnnotations: { a: 'b' },
      externalURL: 'http://am',
      truncatedAlerts: 0,
      alerts: [alert()],
    });
    expect(result.value.alerts[0]?.labels).not.to.equal((input.alerts as Record<string, unknown>[])[0]?.labels);
  });

  it('accepts empty annotations, an empty generatorURL, offsets, fractions of 1 to 9 digits, a resolved alert', () => {
    for (const time of ['2026-11-27T00:22:20Z', '2026-11-27T00:22:20.1Z', '2026-11-27T01:22:20.123456789+01:00', '2026-11-27t00:22:20z', '2024-02-29T23:59:59-23:59']) {
      expect(validateWebhook(body({ alerts: [alert({ startsAt: time, annotations: {}, generatorURL: '' })] })).ok, time).to.equal(true);
    }
    expect(validateWebhook(body({ alerts: [alert({ status: 'resolved', endsAt: '2026-11-27T00:22:33.163Z' })] })).ok).to.equal(true);
    // same instant written two ways: not "before"
    expect(validateWebhook(body({ alerts: [alert({ status: 'resolved', startsAt: '2026-11-27T01:00:00+01:00', endsAt: '2026-11-27T00:00:00Z' })] })).ok).to.equal(true);
  });

  it('lists every problem of the top level', () => {
    expect(problemsOf(undefined)).to.deep.equal(['(body): must be a JSON object; got undefined']);
    expect(problemsOf('x')).to.deep.equal(['(body): must be a JSON object; got a string']);
    expect(problemsOf({})).to.deep.equal(['version: required', 'receiver: required', 'status: required', 'groupKey: required', 'alerts: required']);
    expect(
      problemsOf(body({ version: '3', receiver: null, status: 'firing ', groupKey: ['x'], alerts: 'x', truncatedAlerts: -1, externalURL: 5, commonLabels: [] })),
    ).to.deep.equal([
      'version: must be "4" (Alertmanager\'s webhook version); got "3"',
      'receiver: must be a string; got null',
      'status: must be "firing" or "resolved"; got "firing "',
      'groupKey: must be a string; got an array',
      'alerts: must be an array of alerts; got a string',
      'commonLabels: must be an object of label names to strings; got an array',
      'externalURL: must be a string; got a number',
      'truncatedAlerts: must be an integer >= 0; got -1',
    ]);
  });

  it('lists every problem of every alert with its JSON path', () => {
    expect(
      problemsOf(
        body({
          alerts: [
            alert(),
            {},
            alert({ status: 'ok', labels: null, annotations: { '': 'x', n: 3 }, startsAt: 5, endsAt: '2026-13-01T00:00:00Z', generatorURL: 1, fingerprint: 'f'.repeat(257) }),
            alert({ startsAt: ZERO, endsAt: '2026-02-30T00:00:00Z' }),
            alert({ status: 'resolved', startsAt: '2026-11-27T00:00:01Z', endsAt: '2026-11-27T00:00:00.999999999Z' }),
            alert({ labels: { 'a b': 'x', 'é': 'y\u0000' } }),
          ],
        }),
      ),
    ).to.deep.equal([
      'alerts[1].status: required',
      'alerts[1].labels: required',
      'alerts[1].annotations: required',
      'alerts[1].startsAt: required',
      'alerts[1].endsAt: required',
      'alerts[1].generatorURL: required',
      'alerts[1].fingerprint: required',
      'alerts[2].status: must be "firing" or "resolved"; got "ok"',
      'alerts[2].labels: must be an object of label names to strings; got null',
      'alerts[2].annotations[""]: annotation name must not be empty',
      'alerts[2].annotations.n: annotation value must be a string; got a number',
      'alerts[2].startsAt: must be an RFC 3339 time string; got a number',
      'alerts[2].endsAt: not an RFC 3339 time (years 0001 to 9999, e.g. 2026-11-27T00:22:20.869610604Z); got "2026-13-01T00:00:00Z"',
      'alerts[2].generatorURL: must be a string; got a number',
      'alerts[2].fingerprint: must be at most 256 characters; got 257',
      "alerts[3].startsAt: Go's zero time (0001-01-01T00:00:00Z) is only allowed for endsAt",
      'alerts[3].endsAt: not an RFC 3339 time (years 0001 to 9999, e.g. 2026-11-27T00:22:20.869610604Z); got "2026-02-30T00:00:00Z"',
      'alerts[4].endsAt: a resolved alert cannot end before it starts (endsAt is before startsAt)',
      'alerts[5].labels["é"]: value contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold',
    ]);
  });

  it('refuses NUL characters and lone surrogates anywhere they would be stored, and keeps every other character', () => {
    expect(problemsOf(body({ receiver: 'a\u0000', groupKey: 'b\uD800', alerts: [alert({ fingerprint: '\u0000', generatorURL: 'x\uDC00y' })] }))).to.deep.equal([
      'receiver: value contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold',
      'groupKey: value is not well-formed Unicode (a lone UTF-16 surrogate)',
      'alerts[0].generatorURL: value is not well-formed Unicode (a lone UTF-16 surrogate)',
      'alerts[0].fingerprint: value contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold',
    ]);
    const labels = { "'; DROP TABLE alerts; --": '\u0001\t\n\u007f\u2028 😀 $1 \\' };
    const result = validateWebhook(body({ alerts: [alert({ labels })] }));
    expect(result.ok && result.value.alerts[0]?.labels).to.deep.equal(labels);
  });

  it('never quotes a long value whole', () => {
    const long = 'x'.repeat(5000);
    const problems = problemsOf(body({ status: long, alerts: [alert({ startsAt: long, labels: { [long]: 7 } })] }));
    for (const problem of problems) expect(problem.length, problem.slice(0, 60)).to.be.below(200);
  });

  it('bounds the number of alerts without walking them', () => {
    const many = Array.from({ length: MAX_WEBHOOK_ALERTS + 1 }, () => 'not an alert');
    expect(problemsOf(body({ alerts: many }))).to.deep.equal([`alerts: at most ${MAX_WEBHOOK_ALERTS} alerts per webhook; got ${MAX_WEBHOOK_ALERTS + 1} (lower Alertmanager's max_alerts)`]);
    expect(problemsOf(body({ alerts: [] }))).to.deep.equal(['alerts: must not be empty']);
  });
});

describe('WebhookValidationError', () => {
  it('is a data error with code INVALID_WEBHOOK listing every problem', () => {
    const error = new WebhookValidationError(['version: required', 'alerts: must not be empty']);
    expect(error).to.be.instanceOf(AlertHistoryDbError);
    expect(error).to.include({ name: 'WebhookValidationError', kind: 'data', code: 'INVALID_WEBHOOK', retryable: false });
    expect(error.problems).to.deep.equal(['version: required', 'alerts: must not be empty']);
    expect(error.message).to.equal('invalid Alertmanager webhook (2 problems):\n  - version: required\n  - alerts: must not be empty');
    expect(Object.isFrozen(error.problems)).to.equal(true);
  });

  it('lists the first 50 problems in its message, and all in problems', () => {
    const problems = Array.from({ length: 120 }, (_, index) => `alerts[${index}]: must be an object; got a number`);
    const error = new WebhookValidationError(problems);
    expect(error.problems).to.have.length(120);
    expect(error.message).to.include('alerts[49]').and.not.include('alerts[50]:');
    expect(error.message).to.include('… and 70 more (see problems)');
  });

  it('is what parseWebhook throws', () => {
    expect(() => parseWebhook({})).to.throw(WebhookValidationError);
    expect(parseWebhook(body()).receiver).to.equal('webhook');
  });
});
