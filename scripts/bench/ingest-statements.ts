/**
 * The alert-ingest transaction as SQL every client sends: the statements the alert repository
 * (`src/alerts`, `ingest`) compiles, captured once by the parent with a recording Kysely, and the
 * parameters of each statement, built from a webhook the way the repository builds them. Raw
 * clients (pg, postgres.js) send these texts with these parameters; the Kysely clients run the
 * repository itself. `checkIngestParameters` proves the two agree before anything is measured.
 */
import type { BenchWebhook } from './ingest-workload.js';

/** The four statements of one ingest, and the parameters that follow the rows' (constants of the builder, e.g. `> 0`). */
export interface IngestStatements {
  readonly begin: string;
  readonly events: string;
  readonly alerts: string;
  readonly commit: string;
  readonly eventsTail: readonly unknown[];
  readonly alertsTail: readonly unknown[];
}

/** Go's zero time: a firing alert's `endsAt`, stored as NULL. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

function endsAtOf(alert: BenchWebhook['alerts'][number]): string | null {
  return alert.status === 'firing' || alert.endsAt === GO_ZERO_TIME ? null : alert.endsAt;
}

/**
 * Parameters of the events INSERT: per alert (the webhook's alerts are generated in the
 * repository's order: by fingerprint), the columns in the repository's order; `received_at` is
 * `now()`, no parameter. `json` turns labels and annotations into what the client sends for jsonb.
 */
export function eventParameters(statements: IngestStatements, webhook: BenchWebhook, json: (value: object) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const alert of webhook.alerts) {
    out.push(alert.fingerprint, alert.status, alert.startsAt, endsAtOf(alert), json(alert.labels), json(alert.annotations), alert.generatorURL, webhook.receiver, webhook.groupKey);
  }
  out.push(...statements.eventsTail);
  return out;
}

/** Parameters of the alerts upsert; `newFiring` counts the firing events the first statement inserted, per fingerprint. */
export function alertParameters(
  statements: IngestStatements,
  webhook: BenchWebhook,
  newFiring: ReadonlyMap<string, number>,
  json: (value: object) => unknown,
): unknown[] {
  const out: unknown[] = [];
  for (const alert of webhook.alerts) {
    out.push(
      alert.fingerprint,
      alert.status,
      json(alert.labels),
      json(alert.annotations),
      alert.startsAt,
      endsAtOf(alert),
      alert.generatorURL,
      webhook.receiver,
      alert.startsAt,
      newFiring.get(alert.fingerprint) ?? 0,
    );
  }
  out.push(...statements.alertsTail);
  return out;
}

/** Firing rows per fingerprint among what the events INSERT returned (`fingerprint`, `status`). */
export function countNewFiring(rows: readonly { readonly fingerprint: string; readonly status: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) if (row.status === 'firing') counts.set(row.fingerprint, (counts.get(row.fingerprint) ?? 0) + 1);
  return counts;
}
