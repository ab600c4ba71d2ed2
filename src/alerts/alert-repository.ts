import type { Kysely } from 'kysely';
import type { Logger } from '../observability/logger.js';
import type { DB } from '../schema/database.js';
import type { AlertRepository } from './alert-types.js';
import { queryFlapping, queryStats, queryTop } from './analytics.js';
import { queryActive, queryHistory, queryTimeline } from './history-query.js';
import { ingestWebhook } from './ingest.js';
import { purgeHistory } from './purge.js';
import type { ReadSettings } from './read-transaction.js';

/** Default `statement_timeout` of the repository's read queries. */
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

/** Options of {@link createAlertRepository}. */
export interface AlertRepositoryOptions {
  /** Where retried transactions are logged (one `warn` line per retry, no values). Default: silent. */
  readonly logger?: Logger;
  /**
   * `statement_timeout` (ms) of each read statement (history, timeline, active, top, flapping,
   * stats), set locally in their read-only transaction; 0 leaves the server's setting. Bounds what
   * a caller's regular expression or a wide window can cost. Default {@link DEFAULT_READ_TIMEOUT_MS}.
   */
  readonly readTimeoutMs?: number;
}

/**
 * The alert history over `db` (the schema of `migrations/`, typed by `src/schema`): ingestion of
 * Alertmanager webhooks into `alert_events` and `alerts`, and the queries over them. Every method
 * checks its arguments before using the database and throws a `QueryParameterError` naming the
 * parameter (or a `WebhookValidationError` for `ingest`); database failures stay `pg` errors.
 *
 * Times: `starts_at`/`ends_at` keep microseconds (PostgreSQL rounds Alertmanager's nanoseconds);
 * the `Date`s answered keep milliseconds; history cursors keep the exact microseconds.
 */
export function createAlertRepository(db: Kysely<DB>, options: AlertRepositoryOptions = {}): AlertRepository {
  if (typeof db !== 'object' || db === null || typeof (db as Partial<Kysely<DB>>).selectFrom !== 'function') {
    throw new TypeError('createAlertRepository: db must be a Kysely<DB> instance');
  }
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  if (!Number.isInteger(readTimeoutMs) || readTimeoutMs < 0) {
    throw new TypeError(`createAlertRepository: readTimeoutMs must be an integer >= 0; got ${String(readTimeoutMs)}`);
  }
  const logger = options.logger;
  const settings: ReadSettings = { statementTimeoutMs: readTimeoutMs, logger };
  return Object.freeze({
    ingest: (payload, ingestOptions) =>
      ingestWebhook(db, payload, { ...(ingestOptions?.receivedAt === undefined ? {} : { receivedAt: ingestOptions.receivedAt }), ...(logger === undefined ? {} : { logger }) }),
    history: (filters, page) => queryHistory(db, settings, filters, page),
    timeline: (fingerprint) => queryTimeline(db, settings, fingerprint),
    active: () => queryActive(db, settings),
    top: (window, limit) => queryTop(db, settings, window, limit),
    flapping: (window, minTransitions) => queryFlapping(db, settings, window, minTransitions),
    stats: (window, bucketMs) => queryStats(db, settings, window, bucketMs),
    purge: (olderThan, purgeOptions) => purgeHistory(db, olderThan, purgeOptions),
  } satisfies AlertRepository);
}
