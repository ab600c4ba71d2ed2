/**
 * The alert-ingest workload: one Alertmanager webhook of ALERTS_PER_WEBHOOK firing alerts per
 * operation, each alert new (its own fingerprint), stored by the repository's transaction:
 * the events INSERT … ON CONFLICT DO NOTHING RETURNING and the alerts upsert, between `start
 * transaction isolation level read committed` and `commit`.
 */

import type { AlertmanagerWebhook } from '../../src/alerts/alert-types.js';

/** Alerts in one webhook (one Alertmanager group). */
export const ALERTS_PER_WEBHOOK = 10;

/** An Alertmanager webhook (version 4), as the repository takes it (a type only: raw clients load nothing of it). */
export type BenchWebhook = AlertmanagerWebhook;

/** What every client returns for one ingest: the repository's counts. */
export interface IngestCounts {
  readonly newEvents: number;
  readonly duplicates: number;
  readonly alertsTouched: number;
}

/** Worker `worker`'s `n`th webhook: alerts `ing-<worker>-<n>-00` … `-09` (in fingerprint order, as the repository sorts them). */
export function benchWebhook(worker: number, n: number): BenchWebhook {
  const group = `ing-${worker}-${n}`;
  const startsAt = `2027-06-01T${String(worker % 24).padStart(2, '0')}:00:00.${String(n % 1_000_000_000).padStart(9, '0')}Z`;
  return {
    version: '4',
    receiver: 'bench',
    status: 'firing',
    groupKey: `{}:{alertname="BenchIngest",group="${group}"}`,
    alerts: Array.from({ length: ALERTS_PER_WEBHOOK }, (_, i) => ({
      status: 'firing' as const,
      labels: { alertname: 'BenchIngest', group, instance: `host-${i}.example`, severity: i % 2 === 0 ? 'warning' : 'critical', namespace: 'bench' },
      annotations: { summary: `bench alert ${i} of ${group}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: `${group}-${String(i).padStart(2, '0')}`,
    })),
  };
}

/** The parent's check after an ingest measurement: one event and one alert per alert ingested, none with wrong labels. */
export const INGEST_AUDIT_SQL = `select (select count(*)::int from alert_events) as events,
       (select count(*)::int from alerts) as alerts,
       (select count(*)::int from alert_events where labels ->> 'alertname' is distinct from 'BenchIngest' or ends_at is not null) as bad`;
