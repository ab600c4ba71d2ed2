import { sql, type Expression, type Kysely, type Transaction } from 'kysely';
import { MAX_BIND_PARAMETERS } from '../errors/too-many-parameters-error.js';
import type { Logger } from '../observability/logger.js';
import { transaction } from '../resilience/transaction.js';
import type { DB } from '../schema/database.js';
import type { AlertmanagerWebhook, AlertStatus, IngestResult, WebhookAlert } from './alert-types.js';
import { dateParameter } from './query-parameters.js';
import { parseRfc3339 } from './rfc3339.js';
import { parseWebhook } from './webhook-validation.js';

/** Options of {@link ingestWebhook}. */
export interface IngestOptions {
  /** When the webhook was received. Default: the transaction's `now()` (the server's clock). */
  readonly receivedAt?: Date;
  /** Where retried transactions are logged. */
  readonly logger?: Logger;
}

/** One alert of the webhook, with what ingestion needs precomputed. */
interface Incoming {
  readonly alert: WebhookAlert;
  /** `startsAt` for PostgreSQL: the RFC 3339 text as sent (the server rounds it to microseconds). */
  readonly startsAt: string;
  /** `endsAt` for PostgreSQL, `null` for a firing alert (Go's zero time, or an end not reached yet). */
  readonly endsAt: string | null;
  /** `startsAt` in nanoseconds, to order states exactly in JavaScript. */
  readonly nanos: bigint;
}

/** Order of the states of one `startsAt`: the enum's order, firing then resolved. */
const STATUS_ORDER: Readonly<Record<AlertStatus, number>> = { firing: 0, resolved: 1 };

/** Columns of one `alert_events` row: rows per INSERT are bounded by the bind-parameter limit. */
const EVENT_ROW_PARAMETERS = 10;
/** Columns of one `alerts` row. */
const ALERT_ROW_PARAMETERS = 12;

function compareStates(a: Incoming, b: Incoming): number {
  if (a.alert.fingerprint !== b.alert.fingerprint) return a.alert.fingerprint < b.alert.fingerprint ? -1 : 1;
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return STATUS_ORDER[a.alert.status] - STATUS_ORDER[b.alert.status];
}

function incomingOf(webhook: AlertmanagerWebhook): Incoming[] {
  return webhook.alerts.map((alert) => {
    // validated: both parse
    const starts = parseRfc3339(alert.startsAt);
    const ends = parseRfc3339(alert.endsAt);
    return {
      alert,
      // upper case: RFC 3339 allows `t` and `z`; the canonical form is what is sent
      startsAt: alert.startsAt.toUpperCase(),
      endsAt: alert.status === 'firing' || ends === undefined || ends.isGoZeroTime ? null : alert.endsAt.toUpperCase(),
      nanos: starts?.epochNanos ?? 0n,
    };
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

/** The newest state of each fingerprint, the earliest `startsAt` seen, sorted by fingerprint. */
function newestPerFingerprint(sorted: readonly Incoming[]): { newest: Incoming; firstStartsAt: string }[] {
  const out: { newest: Incoming; firstStartsAt: string }[] = [];
  for (const item of sorted) {
    const last = out[out.length - 1];
    // sorted by fingerprint, then state: the first of a fingerprint is its earliest, the last its newest
    if (last !== undefined && last.newest.alert.fingerprint === item.alert.fingerprint) last.newest = item;
    else out.push({ newest: item, firstStartsAt: item.startsAt });
  }
  return out;
}

/** Inserts the events; returns how many were new, and the new firing events per fingerprint. */
async function insertEvents(
  trx: Transaction<DB>,
  webhook: AlertmanagerWebhook,
  sorted: readonly Incoming[],
  receivedAt: Expression<Date> | Date,
): Promise<{ newEvents: number; newFiring: Map<string, number> }> {
  const newFiring = new Map<string, number>();
  let newEvents = 0;
  for (const chunk of chunks(sorted, Math.floor(MAX_BIND_PARAMETERS / EVENT_ROW_PARAMETERS))) {
    const inserted = await trx
      .insertInto('alert_events')
      .values(
        chunk.map((item) => ({
          fingerprint: item.alert.fingerprint,
          status: item.alert.status,
          starts_at: item.startsAt,
          ends_at: item.endsAt,
          labels: JSON.stringify(item.alert.labels),
          annotations: JSON.stringify(item.alert.annotations),
          generator_url: item.alert.generatorURL,
          receiver: webhook.receiver,
          group_key: webhook.groupKey,
          received_at: receivedAt,
        })),
      )
      .onConflict((conflict) => conflict.columns(['fingerprint', 'status', 'starts_at']).doNothing())
      .returning(['fingerprint', 'status'])
      .execute();
    for (const row of inserted) {
      if (row.status === 'firing') newFiring.set(row.fingerprint, (newFiring.get(row.fingerprint) ?? 0) + 1);
    }
    newEvents += inserted.length;
  }
  return { newEvents, newFiring };
}

/** Upserts the current state of each fingerprint; returns how many rows were inserted or changed. */
async function upsertAlerts(
  trx: Transaction<DB>,
  webhook: AlertmanagerWebhook,
  sorted: readonly Incoming[],
  newFiring: ReadonlyMap<string, number>,
  receivedAt: Expression<Date> | Date,
): Promise<number> {
  let touched = 0;
  for (const chunk of chunks(newestPerFingerprint(sorted), Math.floor(MAX_BIND_PARAMETERS / ALERT_ROW_PARAMETERS))) {
    const rows = await trx
      .insertInto('alerts')
      .values(
        chunk.map(({ newest, firstStartsAt }) => ({
          fingerprint: newest.alert.fingerprint,
          status: newest.alert.status,
          labels: JSON.stringify(newest.alert.labels),
          annotations: JSON.stringify(newest.alert.annotations),
          starts_at: newest.startsAt,
          ends_at: newest.endsAt,
          generator_url: newest.alert.generatorURL,
          receiver: webhook.receiver,
          first_seen_at: firstStartsAt,
          last_seen_at: receivedAt,
          last_received_at: receivedAt,
          firing_episodes: newFiring.get(newest.alert.fingerprint) ?? 0,
        })),
      )
      .onConflict((conflict) =>
        conflict
          .column('fingerprint')
          .doUpdateSet((eb) => {
            // the incoming state replaces the stored one only when it is newer: a later startsAt, or
            // the same startsAt and a later status (resolved after firing); re-sent or late older
            // states never overwrite it
            const newer = eb(eb.refTuple('excluded.starts_at', 'excluded.status'), '>', eb.refTuple('alerts.starts_at', 'alerts.status'));
            return {
              status: eb.case().when(newer).then(eb.ref('excluded.status')).else(eb.ref('alerts.status')).end(),
              labels: eb.case().when(newer).then(eb.ref('excluded.labels')).else(eb.ref('alerts.labels')).end(),
              annotations: eb.case().when(newer).then(eb.ref('excluded.annotations')).else(eb.ref('alerts.annotations')).end(),
              starts_at: eb.case().when(newer).then(eb.ref('excluded.starts_at')).else(eb.ref('alerts.starts_at')).end(),
              ends_at: eb.case().when(newer).then(eb.ref('excluded.ends_at')).else(eb.ref('alerts.ends_at')).end(),
              generator_url: eb.case().when(newer).then(eb.ref('excluded.generator_url')).else(eb.ref('alerts.generator_url')).end(),
              receiver: eb.case().when(newer).then(eb.ref('excluded.receiver')).else(eb.ref('alerts.receiver')).end(),
              last_received_at: eb.case().when(newer).then(eb.ref('excluded.last_received_at')).else(eb.ref('alerts.last_received_at')).end(),
              first_seen_at: sql<Date>`least(${eb.ref('alerts.first_seen_at')}, ${eb.ref('excluded.first_seen_at')})`,
              last_seen_at: sql<Date>`greatest(${eb.ref('alerts.last_seen_at')}, ${eb.ref('excluded.last_seen_at')})`,
              firing_episodes: eb(eb.ref('alerts.firing_episodes'), '+', eb.ref('excluded.firing_episodes')),
            };
          })
          // only rows that change count as touched (a re-sent notification received at the same time changes nothing)
          .where((eb) =>
            eb.or([
              eb(eb.refTuple('excluded.starts_at', 'excluded.status'), '>', eb.refTuple('alerts.starts_at', 'alerts.status')),
              eb('excluded.firing_episodes', '>', 0),
              eb('excluded.first_seen_at', '<', eb.ref('alerts.first_seen_at')),
              eb('excluded.last_seen_at', '>', eb.ref('alerts.last_seen_at')),
            ]),
          ),
      )
      .returning('fingerprint')
      .execute();
    touched += rows.length;
  }
  return touched;
}

/**
 * Stores one Alertmanager webhook: validates it (a `WebhookValidationError` listing every problem,
 * nothing stored), then in one read-committed transaction, re-run on a serialization failure or
 * deadlock by {@link transaction}:
 *
 * 1. every alert's state into `alert_events`, `ON CONFLICT (fingerprint, status, starts_at) DO
 *    NOTHING RETURNING`: what comes back is new, the rest were duplicates;
 * 2. each fingerprint's current state into `alerts` (upsert): the state columns take the incoming
 *    state only if it is newer than the stored one by `(starts_at, status)`; `firing_episodes`
 *    grows by the firing events newly stored; `first_seen_at` is the earliest `startsAt` seen;
 *    `last_seen_at` the latest `received_at` of a notification carrying the alert;
 *    `last_received_at` the `received_at` of the notification that brought the current state.
 *
 * Both statements write their rows sorted (events by fingerprint, startsAt, status; alerts by
 * fingerprint), so concurrent webhooks over the same alerts take their row locks in the same order
 * and wait for each other instead of deadlocking. Each is one multi-row INSERT, split only when
 * the rows would exceed the protocol's 65,535 bind parameters.
 *
 * Times: `startsAt`/`endsAt` go to PostgreSQL as the RFC 3339 text received, so `timestamptz`
 * keeps microseconds (the nanoseconds are rounded by the server, the same way on every re-send:
 * the idempotence key is stable). A firing alert's `endsAt` is stored as NULL.
 */
export async function ingestWebhook(db: Kysely<DB>, payload: unknown, options: IngestOptions = {}): Promise<IngestResult> {
  const receivedAt: Expression<Date> | Date = options.receivedAt === undefined ? sql<Date>`now()` : dateParameter('receivedAt', options.receivedAt);
  const webhook = parseWebhook(payload);
  const sorted = incomingOf(webhook).sort(compareStates);
  return transaction(
    db,
    async (trx) => {
      const { newEvents, newFiring } = await insertEvents(trx, webhook, sorted, receivedAt);
      const alertsTouched = await upsertAlerts(trx, webhook, sorted, newFiring, receivedAt);
      return { newEvents, duplicates: sorted.length - newEvents, alertsTouched };
    },
    { isolation: 'read committed', retries: 5, ...(options.logger === undefined ? {} : { logger: options.logger }) },
  );
}
