import type { Selectable } from 'kysely';
import type { AlertEvents, Alerts, Json } from '../schema/database.js';
import type { AlertEvent, AlertState } from './alert-types.js';

/** Columns of `alert_events` an {@link AlertEvent} is made of. */
export const EVENT_COLUMNS = [
  'id',
  'fingerprint',
  'status',
  'alertname',
  'starts_at',
  'ends_at',
  'labels',
  'annotations',
  'generator_url',
  'receiver',
  'group_key',
  'received_at',
] as const;

/** Columns of `alerts` an {@link AlertState} is made of. */
export const STATE_COLUMNS = [
  'fingerprint',
  'status',
  'alertname',
  'labels',
  'annotations',
  'starts_at',
  'ends_at',
  'generator_url',
  'receiver',
  'first_seen_at',
  'last_seen_at',
  'last_received_at',
  'firing_episodes',
] as const;

/** A stored `labels`/`annotations` document (ingestion only ever writes objects of strings). */
export function stringMap(value: Json): Readonly<Record<string, string>> {
  return value as Readonly<Record<string, string>>;
}

/** An `alert_events` row as the camelCase {@link AlertEvent}. */
export function toAlertEvent(row: Pick<Selectable<AlertEvents>, (typeof EVENT_COLUMNS)[number]>): AlertEvent {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    status: row.status,
    alertname: row.alertname,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    labels: stringMap(row.labels),
    annotations: stringMap(row.annotations),
    generatorURL: row.generator_url,
    receiver: row.receiver,
    groupKey: row.group_key,
    receivedAt: row.received_at,
  };
}

/** An `alerts` row as the camelCase {@link AlertState}. */
export function toAlertState(row: Pick<Selectable<Alerts>, (typeof STATE_COLUMNS)[number]>): AlertState {
  return {
    fingerprint: row.fingerprint,
    status: row.status,
    alertname: row.alertname,
    labels: stringMap(row.labels),
    annotations: stringMap(row.annotations),
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    generatorURL: row.generator_url,
    receiver: row.receiver,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    lastReceivedAt: row.last_received_at,
    firingEpisodes: row.firing_episodes,
  };
}
