import { expect } from 'chai';
import type { TimeWindow } from '../../../src/alerts/alert-types.js';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';
import { failureOf } from '../../support/failure.js';
import { setUpAlerts, webhook, type AlertSpec, type AlertsFixture } from './alerts-support.js';

const at = (time: string): string => `2026-04-01T${time}Z`;
const WINDOW: TimeWindow = { from: new Date(at('00:00:00')), to: new Date(at('04:00:00')) };

const A = { alertname: 'Flappy', severity: 'critical', namespace: 'prod' };
const B = { alertname: 'Steady', severity: 'warning' };
const C = { alertname: 'Old', severity: 'info', namespace: 'staging' };
const D = { alertname: 'Late', severity: 'critical', namespace: 'prod' };
const E = { alertname: 'Edge' };

/** One episode: its firing state, and its resolved state when `endsAt` is given. */
function episode(fingerprint: string, labels: Record<string, string>, startsAt: string, endsAt?: string): AlertSpec[] {
  const firing: AlertSpec = { fingerprint, status: 'firing', startsAt, labels };
  return endsAt === undefined ? [firing] : [firing, { fingerprint, status: 'resolved', startsAt, endsAt, labels }];
}

/**
 * Events by the time their state was reached (firing: startsAt, resolved: endsAt), window 00:00–04:00:
 *   flap-a  f00:10 r00:15 f00:30 r00:40 f01:00 r01:30 f02:00        7 in the window
 *   flap-b  f00:05 r03:05 f03:30 (r04:30 after the window)          3
 *   flap-c  (f23:00 the day before) r00:20                          1
 *   flap-d  f03:59:59.999 (f04:00 at the window's end, excluded)    1
 *   flap-e  f00:00 (the window's start, included)                   1
 * Times to resolve of resolutions in the window: 300, 600, 1800 (a), 10800 (b), 4800 (c) s.
 */
const HISTORY: AlertSpec[] = [
  ...episode('flap-a', A, at('00:10:00'), at('00:15:00')),
  ...episode('flap-a', A, at('00:30:00'), at('00:40:00')),
  ...episode('flap-a', A, at('01:00:00'), at('01:30:00')),
  ...episode('flap-a', A, at('02:00:00')),
  ...episode('flap-b', B, at('00:05:00'), at('03:05:00')),
  ...episode('flap-b', B, at('03:30:00'), at('04:30:00')),
  ...episode('flap-c', C, '2026-03-31T23:00:00Z', at('00:20:00')),
  ...episode('flap-d', D, at('03:59:59.999')),
  ...episode('flap-d', D, at('04:00:00')),
  ...episode('flap-e', E, at('00:00:00')),
];

describe('alert repository: top, flapping, stats', function () {
  let fixture: AlertsFixture;

  before(async () => {
    fixture = await setUpAlerts('alerts_analytics');
    // every state of every alert, each in its own notification, in time order
    for (const spec of HISTORY) await fixture.repo.ingest(webhook([spec]));
  });
  after(async () => {
    await fixture?.close();
  });

  async function parameterOf(work: Promise<unknown>): Promise<string> {
    const error = await failureOf(work);
    expect(error).to.be.instanceOf(QueryParameterError);
    return (error as QueryParameterError).parameter;
  }

  it('top: firing episodes started in the window, most first', async () => {
    expect(await fixture.repo.top(WINDOW)).to.deep.equal([
      { fingerprint: 'flap-a', alertname: 'Flappy', labels: A, firingEpisodes: 4 },
      { fingerprint: 'flap-b', alertname: 'Steady', labels: B, firingEpisodes: 2 },
      { fingerprint: 'flap-d', alertname: 'Late', labels: D, firingEpisodes: 1 },
      { fingerprint: 'flap-e', alertname: 'Edge', labels: E, firingEpisodes: 1 },
    ]);
    expect((await fixture.repo.top(WINDOW, 2)).map((alert) => alert.fingerprint)).to.deep.equal(['flap-a', 'flap-b']);
    expect(await fixture.repo.top({ from: new Date(at('05:00:00')), to: new Date(at('06:00:00')) })).to.deep.equal([]);
  });

  it('flapping: state changes in the window per alert, and per hour of the window', async () => {
    expect(await fixture.repo.flapping(WINDOW, 3)).to.deep.equal([
      { fingerprint: 'flap-a', alertname: 'Flappy', labels: A, transitions: 7, transitionsPerHour: 1.75 },
      { fingerprint: 'flap-b', alertname: 'Steady', labels: B, transitions: 3, transitionsPerHour: 0.75 },
    ]);
    // default: at least 4
    expect((await fixture.repo.flapping(WINDOW)).map((alert) => [alert.fingerprint, alert.transitions])).to.deep.equal([['flap-a', 7]]);
    expect((await fixture.repo.flapping(WINDOW, 1)).map((alert) => [alert.fingerprint, alert.transitions])).to.deep.equal([
      ['flap-a', 7],
      ['flap-b', 3],
      ['flap-c', 1],
      ['flap-d', 1],
      ['flap-e', 1],
    ]);
    // half an hour: 00:00–00:30 holds a's f00:10 r00:15 → 4 per hour
    const half = await fixture.repo.flapping({ from: new Date(at('00:00:00')), to: new Date(at('00:30:00')) }, 2);
    expect(half.map((alert) => [alert.fingerprint, alert.transitions, alert.transitionsPerHour])).to.deep.equal([['flap-a', 2, 4]]);
  });

  it('stats: counts per bucket by status, severity and namespace, and the mean and median time to resolve', async () => {
    const stats = await fixture.repo.stats(WINDOW, 3_600_000);
    expect(stats).to.deep.equal({
      window: WINDOW,
      bucketMs: 3_600_000,
      buckets: [
        {
          start: new Date(at('00:00:00')),
          byStatus: { firing: 4, resolved: 3 },
          bySeverity: { critical: 4, warning: 1, info: 1, '(none)': 1 },
          byNamespace: { prod: 4, staging: 1, '(none)': 2 },
        },
        { start: new Date(at('01:00:00')), byStatus: { firing: 1, resolved: 1 }, bySeverity: { critical: 2 }, byNamespace: { prod: 2 } },
        { start: new Date(at('02:00:00')), byStatus: { firing: 1, resolved: 0 }, bySeverity: { critical: 1 }, byNamespace: { prod: 1 } },
        { start: new Date(at('03:00:00')), byStatus: { firing: 2, resolved: 1 }, bySeverity: { warning: 2, critical: 1 }, byNamespace: { prod: 1, '(none)': 2 } },
      ],
      meanTimeToResolveSeconds: 3660,
      medianTimeToResolveSeconds: 1800,
    });
  });

  it('stats: buckets that do not divide the window, empty buckets, and no resolution', async () => {
    const stats = await fixture.repo.stats(WINDOW, 90 * 60_000);
    expect(stats.buckets.map((bucket) => [bucket.start.toISOString(), bucket.byStatus.firing, bucket.byStatus.resolved])).to.deep.equal([
      [at('00:00:00.000'), 5, 3],
      // a's resolution at 01:30 opens the second bucket
      [at('01:30:00.000'), 1, 1],
      // 03:00–04:30, cut at the window's end (b's resolution at 04:30 is not in it)
      [at('03:00:00.000'), 2, 1],
    ]);
    const quiet = await fixture.repo.stats({ from: new Date(at('06:00:00')), to: new Date(at('07:00:00')) }, 1_800_000);
    expect(quiet).to.deep.equal({
      window: { from: new Date(at('06:00:00')), to: new Date(at('07:00:00')) },
      bucketMs: 1_800_000,
      buckets: [
        { start: new Date(at('06:00:00')), byStatus: { firing: 0, resolved: 0 }, bySeverity: {}, byNamespace: {} },
        { start: new Date(at('06:30:00')), byStatus: { firing: 0, resolved: 0 }, bySeverity: {}, byNamespace: {} },
      ],
      meanTimeToResolveSeconds: null,
      medianTimeToResolveSeconds: null,
    });
  });

  it('refuses empty or inverted windows, too many buckets and out-of-range limits with the parameter named', async () => {
    const empty = { from: WINDOW.from, to: WINDOW.from };
    const inverted = { from: WINDOW.to, to: WINDOW.from };
    expect(await parameterOf(fixture.repo.flapping(empty, 1))).to.equal('window');
    expect(await parameterOf(fixture.repo.flapping(inverted, 1))).to.equal('window');
    expect(await parameterOf(fixture.repo.top(empty))).to.equal('window');
    expect(await parameterOf(fixture.repo.stats(empty, 1000))).to.equal('window');
    expect(await parameterOf(fixture.repo.stats({ from: new Date(Number.NaN), to: WINDOW.to }, 1000))).to.equal('window.from');
    expect(await parameterOf(fixture.repo.top(null as unknown as TimeWindow))).to.equal('window');
    // 4 hours of 1 s buckets: 14,400 > 10,000
    const tooMany = await failureOf(fixture.repo.stats(WINDOW, 1000));
    expect(tooMany).to.be.instanceOf(QueryParameterError);
    expect(tooMany).to.include({ parameter: 'bucketMs' });
    expect(tooMany.message).to.include('14400 buckets');
    expect((await fixture.repo.stats(WINDOW, 1440)).buckets).to.have.length(10_000);
    for (const bucketMs of [0, -1, 1.5, Number.NaN, undefined as unknown as number]) expect(await parameterOf(fixture.repo.stats(WINDOW, bucketMs))).to.equal('bucketMs');
    for (const minTransitions of [0, 1.5, -3]) expect(await parameterOf(fixture.repo.flapping(WINDOW, minTransitions))).to.equal('minTransitions');
    for (const limit of [0, 1001, 2.5]) expect(await parameterOf(fixture.repo.top(WINDOW, limit))).to.equal('limit');
  });
});
