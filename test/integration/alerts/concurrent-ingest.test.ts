import { expect } from 'chai';
import type { AlertStatus } from '../../../src/alerts/alert-types.js';
import type { Logger } from '../../../src/observability/logger.js';
import { setUpAlerts, tableCounts, webhook, type AlertSpec, type AlertsFixture } from './alerts-support.js';

/** A small deterministic generator (LCG), so that a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const BASE = Date.UTC(2026, 5, 1);
const FINGERPRINTS = Array.from({ length: 24 }, (_, index) => `fp${String(index).padStart(2, '0')}`);

interface State {
  readonly fingerprint: string;
  readonly episode: number;
  readonly status: AlertStatus;
}

function startsAtOf(state: Pick<State, 'episode' | 'fingerprint'>): string {
  // microseconds apart between fingerprints, minutes apart between episodes
  const micros = Number(state.fingerprint.slice(2));
  return `${new Date(BASE + state.episode * 600_000).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

function specOf(state: State): AlertSpec {
  const startsAt = startsAtOf(state);
  return { fingerprint: state.fingerprint, status: state.status, startsAt, labels: { alertname: 'Concurrent', fp: state.fingerprint } };
}

/** 20 webhooks of 40 states each, over the same 24 alerts (4 episodes, both states): heavily overlapping, in shuffled order. */
function generate(seed: number): State[][] {
  const next = random(seed);
  return Array.from({ length: 20 }, () =>
    Array.from({ length: 40 }, () => ({
      fingerprint: FINGERPRINTS[Math.floor(next() * FINGERPRINTS.length)] ?? 'fp00',
      episode: Math.floor(next() * 4),
      status: next() < 0.5 ? ('firing' as const) : ('resolved' as const),
    })),
  );
}

const keyOf = (state: State): string => `${state.fingerprint}|${state.episode}|${state.status}`;

describe('alert repository: concurrent ingest', function () {
  let fixture: AlertsFixture;
  const retries: unknown[] = [];
  const logger: Logger = {
    error: () => undefined,
    warn: (_message, meta) => retries.push(meta?.code),
    info: () => undefined,
    debug: () => undefined,
  };

  before(async () => {
    fixture = await setUpAlerts('alerts_concurrent', { logger }, 24);
  });
  beforeEach(async () => {
    await fixture.truncate();
    retries.length = 0;
  });
  after(async () => {
    await fixture?.close();
  });

  for (const seed of [1, 2, 3]) {
    it(`loses nothing and duplicates nothing with 20 webhooks at once over the same alerts (seed ${seed})`, async () => {
      const webhooks = generate(seed);
      const results = await Promise.all(webhooks.map((states, index) => fixture.repo.ingest(webhook(states.map(specOf)), { receivedAt: new Date(BASE + 3_600_000 + index) })));

      const distinct = new Map<string, State>();
      for (const state of webhooks.flat()) distinct.set(keyOf(state), state);
      const total = webhooks.flat().length;
      expect(results.reduce((sum, result) => sum + result.newEvents, 0)).to.equal(distinct.size);
      expect(results.reduce((sum, result) => sum + result.duplicates, 0)).to.equal(total - distinct.size);

      const events = await fixture.db.selectFrom('alert_events').select(['fingerprint', 'status', 'starts_at']).execute();
      expect(events).to.have.length(distinct.size);
      const stored = new Set(events.map((event) => `${event.fingerprint}|${Math.round((event.starts_at.getTime() - BASE) / 600_000)}|${event.status}`));
      expect([...stored].sort()).to.deep.equal([...distinct.keys()].sort());

      // each alert's current state is its newest (episode, status), its episodes its distinct firing states
      const states = await fixture.db.selectFrom('alerts').selectAll().orderBy('fingerprint').execute();
      const seen = [...new Set([...distinct.values()].map((state) => state.fingerprint))].sort();
      expect(states.map((state) => state.fingerprint)).to.deep.equal(seen);
      for (const row of states) {
        const mine = [...distinct.values()].filter((state) => state.fingerprint === row.fingerprint);
        const newest = mine.reduce((best, state) =>
          state.episode > best.episode || (state.episode === best.episode && state.status === 'resolved') ? state : best,
        );
        const firstEpisode = Math.min(...mine.map((state) => state.episode));
        expect({ status: row.status, startsAt: row.starts_at.getTime(), episodes: row.firing_episodes, first: row.first_seen_at.getTime() }).to.deep.equal({
          status: newest.status,
          startsAt: new Date(startsAtOf(newest)).getTime(),
          episodes: mine.filter((state) => state.status === 'firing').length,
          first: new Date(startsAtOf({ fingerprint: row.fingerprint, episode: firstEpisode })).getTime(),
        });
        // last_seen_at: the latest notification that carried it
        const carriers = webhooks.flatMap((states, index) => (states.some((state) => state.fingerprint === row.fingerprint) ? [index] : []));
        expect(row.last_seen_at.getTime()).to.equal(BASE + 3_600_000 + Math.max(...carriers));
      }

      // the same webhooks again, at once: nothing new
      const again = await Promise.all(webhooks.map((states, index) => fixture.repo.ingest(webhook(states.map(specOf)), { receivedAt: new Date(BASE + 3_600_000 + index) })));
      expect(again.reduce((sum, result) => sum + result.newEvents, 0)).to.equal(0);
      expect(again.reduce((sum, result) => sum + result.alertsTouched, 0)).to.equal(0);
      expect(await tableCounts(fixture.db)).to.deep.equal({ events: distinct.size, alerts: seen.length });
      // rows are written in one order by every transaction: they wait for each other, never deadlock
      expect(retries.filter((code) => code === '40P01')).to.deep.equal([]);
    });
  }
});
