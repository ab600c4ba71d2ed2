import { expect } from 'chai';
import { sql } from 'kysely';
import type { AlertStatus, HistoryFilters, LabelMatcher } from '../../../src/alerts/alert-types.js';
import { encodeHistoryCursor } from '../../../src/alerts/history-cursor.js';
import { QueryParameterError } from '../../../src/alerts/query-parameter-error.js';
import { failureOf } from '../../support/failure.js';
import { setUpAlerts, webhook, type AlertSpec, type AlertsFixture } from './alerts-support.js';

const BASE = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

/** One generated event, as the model knows it. */
interface ModelEvent {
  readonly fingerprint: string;
  readonly status: AlertStatus;
  readonly startsAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly receiver: string;
}

/** What the database assigned: id, and `starts_at` exact to the microsecond (sortable text). */
interface Stored {
  readonly id: string;
  readonly micros: string;
}

/**
 * 60 alerts with 3 to 5 episodes each, both states (the newest sometimes still firing): about 450
 * events. Alerts 0, 3, 6… share their startsAt exactly (ties broken by id); the others differ by
 * microseconds within one millisecond (a cursor keeping milliseconds would skip or repeat them).
 */
function generate(): ModelEvent[] {
  const events: ModelEvent[] = [];
  for (let index = 0; index < 60; index += 1) {
    const labels: Record<string, string> = { alertname: ['Alpha', 'Beta', 'Gamma'][index % 3] ?? 'Alpha', instance: `host-${index % 5}` };
    const severity = ['critical', 'warning', 'info', undefined][index % 4];
    if (severity !== undefined) labels.severity = severity;
    const namespace = ['prod', 'staging', 'dev', undefined][(index * 7) % 4];
    if (namespace !== undefined) labels.namespace = namespace;
    if (index % 6 === 0) labels.team = index % 12 === 0 ? 'Core' : '';
    const episodes = 3 + (index % 3);
    for (let episode = 0; episode < episodes; episode += 1) {
      const ms = BASE + episode * HOUR + Math.floor(index / 10);
      const micros = index % 3 === 0 ? 0 : index % 10;
      const startsAt = `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
      const base = { fingerprint: `h${String(index).padStart(3, '0')}`, startsAt, labels, receiver: index % 2 === 0 ? 'slack' : 'pager' };
      events.push({ ...base, status: 'firing' });
      if (episode < episodes - 1 || index % 4 !== 0) events.push({ ...base, status: 'resolved' });
    }
  }
  return events;
}

const keyOf = (event: Pick<ModelEvent, 'fingerprint' | 'status' | 'startsAt'>): string => `${event.fingerprint}|${event.status}|${event.startsAt}`;
const label = (event: ModelEvent, name: string): string => event.labels[name] ?? '';

/** Newest first by (starts_at, id): the order history answers in. */
function newestFirst(a: Stored, b: Stored): number {
  if (a.micros !== b.micros) return a.micros < b.micros ? 1 : -1;
  return BigInt(a.id) < BigInt(b.id) ? 1 : -1;
}

describe('alert repository: history', function () {
  let fixture: AlertsFixture;
  const model = generate();
  /** key → what the database assigned */
  const stored = new Map<string, Stored>();

  async function readStored(): Promise<Map<string, Stored>> {
    const rows = await fixture.db
      .selectFrom('alert_events')
      .select(['id', 'fingerprint', 'status', sql<string>`to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('micros')])
      .execute();
    return new Map(rows.map((row) => [`${row.fingerprint}|${row.status}|${row.micros}`, { id: row.id, micros: row.micros }]));
  }

  /** Every page of `filters`, each page's ids. */
  async function allPages(filters: HistoryFilters, limit: number): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await fixture.repo.history(filters, { limit, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.items.length).to.be.at.most(limit);
      if (page.nextCursor !== undefined) expect(page.items).to.have.length(limit);
      pages.push(page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return pages;
  }

  function expectedIds(predicate: (event: ModelEvent) => boolean): string[] {
    return model
      .filter(predicate)
      .map((event) => {
        const found = stored.get(keyOf(event));
        if (found === undefined) throw new Error(`not stored: ${keyOf(event)}`);
        return found;
      })
      .sort(newestFirst)
      .map((found) => found.id);
  }

  before(async () => {
    fixture = await setUpAlerts('alerts_history');
    // in 9 webhooks of mixed alerts, so that ids do not follow starts_at
    const groups: AlertSpec[][] = Array.from({ length: 9 }, () => []);
    model.forEach((event, index) => groups[(index * 5) % 9]?.push({ ...event }));
    for (const [index, group] of groups.entries()) {
      const receiver = index % 2 === 0 ? 'slack' : 'pager';
      // one receiver per webhook: split each group by its events' receiver
      for (const name of [receiver, receiver === 'slack' ? 'pager' : 'slack']) {
        const mine = group.filter((spec) => model.find((event) => keyOf(event) === keyOf(spec))?.receiver === name);
        if (mine.length > 0) await fixture.repo.ingest(webhook(mine, name));
      }
    }
    for (const [key, value] of await readStored()) stored.set(key, value);
    expect(stored.size).to.equal(model.length);
    expect(model.length).to.be.within(400, 500);
  });
  afterEach(async () => {
    await sql`delete from alert_events where fingerprint like 'late-%'`.execute(fixture.db);
    await sql`delete from alerts where fingerprint like 'late-%'`.execute(fixture.db);
  });
  after(async () => {
    await fixture?.close();
  });

  const cases: { name: string; filters: HistoryFilters; predicate: (event: ModelEvent) => boolean }[] = [
    { name: 'no filter', filters: {}, predicate: () => true },
    { name: 'status', filters: { status: 'resolved' }, predicate: (event) => event.status === 'resolved' },
    { name: 'alertname', filters: { alertname: 'Beta' }, predicate: (event) => event.labels.alertname === 'Beta' },
    { name: 'alertname and status', filters: { alertname: 'Gamma', status: 'firing' }, predicate: (event) => event.labels.alertname === 'Gamma' && event.status === 'firing' },
    { name: 'severity', filters: { severity: 'critical' }, predicate: (event) => event.labels.severity === 'critical' },
    { name: 'namespace', filters: { namespace: 'staging' }, predicate: (event) => event.labels.namespace === 'staging' },
    { name: 'fingerprint', filters: { fingerprint: 'h013' }, predicate: (event) => event.fingerprint === 'h013' },
    { name: 'receiver', filters: { receiver: 'pager' }, predicate: (event) => event.receiver === 'pager' },
    {
      name: 'time range (from inclusive, to exclusive)',
      filters: { from: new Date(BASE + HOUR), to: new Date(BASE + 3 * HOUR + 3) },
      predicate: (event) => Date.parse(event.startsAt) >= BASE + HOUR && Date.parse(event.startsAt) < BASE + 3 * HOUR + 3,
    },
    {
      name: 'label = (two, one document)',
      filters: { labels: [{ name: 'severity', op: '=', value: 'warning' }, { name: 'instance', op: '=', value: 'host-1' }] },
      predicate: (event) => label(event, 'severity') === 'warning' && label(event, 'instance') === 'host-1',
    },
    {
      name: 'label = "" (missing or empty)',
      filters: { labels: [{ name: 'team', op: '=', value: '' }] },
      predicate: (event) => label(event, 'team') === '',
    },
    {
      name: 'label != (a missing label is not equal)',
      filters: { labels: [{ name: 'namespace', op: '!=', value: 'prod' }] },
      predicate: (event) => label(event, 'namespace') !== 'prod',
    },
    {
      name: 'label != "" (present and not empty)',
      filters: { labels: [{ name: 'team', op: '!=', value: '' }] },
      predicate: (event) => label(event, 'team') !== '',
    },
    {
      name: 'label =~ (full match)',
      filters: { labels: [{ name: 'severity', op: '=~', value: 'crit|warn.*' }] },
      predicate: (event) => ['critical', 'warning'].includes(label(event, 'severity')) && label(event, 'severity') !== 'critical',
    },
    {
      name: 'label =~ matching the empty string (missing labels too)',
      filters: { labels: [{ name: 'namespace', op: '=~', value: 'prod|' }] },
      predicate: (event) => ['prod', ''].includes(label(event, 'namespace')),
    },
    {
      name: 'label !~',
      filters: { labels: [{ name: 'instance', op: '!~', value: 'host-[0-2]' }] },
      predicate: (event) => !['host-0', 'host-1', 'host-2'].includes(label(event, 'instance')),
    },
    {
      name: 'label =~ with a leading embedded option (?i)',
      filters: { labels: [{ name: 'alertname', op: '=~', value: '(?i)ALPHA|gamma' }] },
      predicate: (event) => ['Alpha', 'Gamma'].includes(label(event, 'alertname')),
    },
    {
      name: 'everything at once',
      filters: {
        status: 'firing',
        alertname: 'Alpha',
        receiver: 'slack',
        from: new Date(BASE),
        to: new Date(BASE + 4 * HOUR),
        labels: [
          { name: 'instance', op: '=~', value: 'host-[0-3]' },
          { name: 'severity', op: '!=', value: 'info' },
          { name: 'namespace', op: '!~', value: 'dev' },
        ],
      },
      predicate: (event) =>
        event.status === 'firing' &&
        event.labels.alertname === 'Alpha' &&
        event.receiver === 'slack' &&
        Date.parse(event.startsAt) < BASE + 4 * HOUR &&
        /^host-[0-3]$/.test(label(event, 'instance')) &&
        label(event, 'severity') !== 'info' &&
        label(event, 'namespace') !== 'dev',
    },
  ];

  for (const { name, filters, predicate } of cases) {
    it(`pages through every matching event exactly once, newest first: ${name}`, async () => {
      const expected = expectedIds(predicate);
      expect(expected.length, 'the case selects something').to.be.greaterThan(0);
      for (const limit of name === 'no filter' ? [1, 7, 50, 1000] : [7, 1000]) {
        const pages = await allPages(filters, limit);
        expect(pages.flat(), `limit ${limit}`).to.deep.equal(expected);
        expect(pages).to.have.length(Math.max(1, Math.ceil(expected.length / limit)));
      }
    });
  }

  it('answers events in the AlertEvent shape, and an empty last page without a cursor', async () => {
    const page = await fixture.repo.history({ fingerprint: 'h004', status: 'resolved' }, { limit: 2 });
    const first = page.items[0];
    const model4 = model.filter((event) => event.fingerprint === 'h004' && event.status === 'resolved').sort((a, b) => (a.startsAt < b.startsAt ? 1 : -1))[0];
    expect(first).to.deep.include({
      fingerprint: 'h004',
      status: 'resolved',
      alertname: 'Beta',
      labels: model4?.labels,
      annotations: {},
      generatorURL: '',
      receiver: 'slack',
      groupKey: '{}:{alertname="Generated"}',
    });
    expect(first?.startsAt.toISOString()).to.equal(new Date(model4?.startsAt ?? '').toISOString());
    expect(first?.endsAt?.getTime()).to.equal(Date.parse(model4?.startsAt ?? '') + 60_000);
    expect(first?.receivedAt).to.be.instanceOf(Date);
    expect(await fixture.repo.history({ fingerprint: 'nope' })).to.deep.equal({ items: [], nextCursor: undefined });
    // the default page size
    expect((await fixture.repo.history()).items).to.have.length(50);
  });

  it('stays consistent while events are inserted between pages: each event at most once, every earlier event once, in order', async () => {
    const before = expectedIds(() => true);
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await fixture.repo.history({}, { limit: 25, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      // newer than everything, older than everything, and in the middle of what is left
      const offsets = [10 * HOUR + round, -10 * HOUR - round, 2 * HOUR + round * 7];
      await fixture.repo.ingest(
        webhook(
          offsets.map((offset, index) => ({
            fingerprint: `late-${round}-${index}`,
            status: 'firing',
            startsAt: `${new Date(BASE + offset).toISOString().slice(0, 23)}${String(round % 1000).padStart(3, '0')}Z`,
          })),
        ),
      );
      round += 1;
    } while (cursor !== undefined);

    expect(new Set(seen).size, 'no event twice').to.equal(seen.length);
    const seenSet = new Set(seen);
    expect(before.filter((id) => !seenSet.has(id)), 'every event that existed before').to.deep.equal([]);
    const now = await readStored();
    const byId = new Map([...now.values()].map((value) => [value.id, value]));
    const order = seen.map((id) => byId.get(id) ?? { id, micros: '' });
    expect([...order].sort(newestFirst).map((value) => value.id), 'newest first').to.deep.equal(seen);
    // the late ones newer than the first page were not found, the ones older than everything were
    // (but those inserted after the last page)
    const late = [...now.entries()].filter(([key]) => key.startsWith('late-'));
    expect(late.length).to.equal(round * 3);
    const lateSeen = (index: number): boolean[] =>
      late.filter(([key]) => key.split('|')[0]?.endsWith(`-${index}`)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, value]) => seenSet.has(value.id));
    expect(lateSeen(0).every((found) => !found)).to.equal(true);
    expect(lateSeen(1).filter((found) => found)).to.have.length(round - 1);
  });

  describe('invalid parameters', () => {
    async function parameterOf(work: Promise<unknown>): Promise<string> {
      const error = await failureOf(work);
      expect(error).to.be.instanceOf(QueryParameterError);
      expect(error).to.include({ kind: 'data', code: 'INVALID_QUERY_PARAMETER', retryable: false });
      return (error as QueryParameterError).parameter;
    }

    it('names cursor for a malformed cursor, never echoing it', async () => {
      const good = (await fixture.repo.history({}, { limit: 3 })).nextCursor ?? '';
      const forged = [
        'not a cursor!',
        '',
        good.slice(0, -2),
        Buffer.from('{"v":1,"s":"2026-03-01T00:00:00.000000Z","i":"x"}').toString('base64url'),
        Buffer.from('{"v":2,"s":"2026-03-01T00:00:00.000000Z","i":"1"}').toString('base64url'),
        Buffer.from('{"v":1,"s":"2026-02-30T00:00:00.000000Z","i":"1"}').toString('base64url'),
        Buffer.from('[1]').toString('base64url'),
        `${good}=`,
        'A'.repeat(10_000),
      ];
      for (const cursor of forged) {
        const error = await failureOf(fixture.repo.history({}, { cursor }));
        expect(error, cursor.slice(0, 40)).to.be.instanceOf(QueryParameterError);
        expect((error as QueryParameterError).parameter).to.equal('cursor');
        if (cursor.length > 20) expect(error.message).not.to.include(cursor);
      }
      expect(await parameterOf(fixture.repo.history({}, { cursor: 42 as unknown as string }))).to.equal('cursor');
      // a well-formed cursor nothing is older than: an empty page
      expect(await fixture.repo.history({}, { cursor: encodeHistoryCursor({ startsAt: '0001-01-01T00:00:00.000000Z', id: '1' }) })).to.deep.equal({
        items: [],
        nextCursor: undefined,
      });
    });

    it('names limit out of range', async () => {
      for (const limit of [0, -1, 1001, 2.5, Number.NaN, '10' as unknown as number]) {
        expect(await parameterOf(fixture.repo.history({}, { limit }))).to.equal('limit');
      }
      expect((await fixture.repo.history({}, { limit: 1000 })).items).to.have.length(1000 > model.length ? model.length : 1000);
    });

    it('names the filter that is invalid', async () => {
      const bad: [HistoryFilters, string][] = [
        [{ status: 'pending' as AlertStatus }, 'status'],
        [{ alertname: '' }, 'alertname'],
        [{ severity: 'a\u0000b' }, 'severity'],
        [{ receiver: 7 as unknown as string }, 'receiver'],
        [{ from: new Date(Number.NaN) }, 'from'],
        [{ from: new Date(BASE + 1), to: new Date(BASE) }, 'from'],
        [{ to: 'yesterday' as unknown as Date }, 'to'],
        [{ labels: {} as unknown as LabelMatcher[] }, 'labels'],
        [{ labels: [{ name: '', op: '=', value: 'x' }] }, 'labels[0]'],
        [{ labels: [{ name: 'a', op: '==' as '=', value: 'x' }] }, 'labels[0]'],
        [{ labels: [{ name: 'a', op: '=', value: 'x' }, { name: 'a', op: '=', value: 'nul\u0000' }] }, 'labels[1].value'],
        [{ labels: Array.from({ length: 33 }, () => ({ name: 'a', op: '=' as const, value: 'x' })) }, 'labels'],
        [{ labels: [{ name: 'a', op: '=~', value: 'x'.repeat(1025) }] }, 'labels[0]'],
      ];
      for (const [filters, parameter] of bad) expect(await parameterOf(fixture.repo.history(filters)), parameter).to.equal(parameter);
    });

    it('names the matcher whose regular expression the server refuses, and goes on working', async () => {
      const regexes: [LabelMatcher[], string, string][] = [
        [[{ name: 'severity', op: '=~', value: 'crit.*' }, { name: 'instance', op: '!~', value: 'host-[' }], 'labels[1]', 'brackets'],
        // balanced only once wrapped: would escape the anchors
        [[{ name: 'severity', op: '=~', value: 'x)|(y' }], 'labels[0]', 'parentheses'],
        [[{ name: 'severity', op: '=~', value: '(((a{1,200}){1,200}){1,200})' }], 'labels[0]', 'too complex'],
        [[{ name: 'severity', op: '=~', value: '(a)\\2' }], 'labels[0]', 'backreference'],
      ];
      for (const [labels, parameter, reason] of regexes) {
        const error = await failureOf(fixture.repo.history({ labels }));
        expect(error).to.be.instanceOf(QueryParameterError);
        expect((error as QueryParameterError).parameter).to.equal(parameter);
        expect(error.message).to.include(reason);
      }
      // severity / namespace filters join the matchers under their own name
      expect((await fixture.repo.history({ severity: 'critical', labels: [{ name: 'x', op: '=~', value: '.*' }] })).items.length).to.be.greaterThan(0);
    });
  });
});
