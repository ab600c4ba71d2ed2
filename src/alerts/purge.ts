import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema/database.js';
import { dateParameter, integerParameter } from './query-parameters.js';

/** Default rows per purge batch ({@link AlertRepository.purge}'s `batchSize`). */
export const DEFAULT_PURGE_BATCH_SIZE = 1000;
/** Largest `batchSize` {@link AlertRepository.purge} accepts. */
export const MAX_PURGE_BATCH_SIZE = 100_000;

/** What {@link purgeHistory} deleted. */
export interface PurgeResult {
  readonly deletedEvents: number;
  readonly deletedAlerts: number;
}

/** Repeats one bounded DELETE until it deletes nothing; returns the rows deleted in all. */
async function inBatches(deleteBatch: () => Promise<bigint>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number(await deleteBatch());
    if (deleted === 0) return total;
    total += deleted;
  }
}

/**
 * Deletes history older than `olderThan`, in batches of at most `batchSize` rows, each batch its
 * own statement (and transaction: locks are held briefly, ingestion goes on meanwhile):
 *
 * - events whose `starts_at` is before `olderThan`, except the firing event of an alert that is
 *   firing now (its current episode, however old: the state an alert is in is never purged);
 * - `alerts` rows whose newest state is resolved and whose `ends_at` is before `olderThan` (all
 *   their events are older, so they go too). The conditions are repeated on the deleted rows
 *   themselves, so a row that a concurrent ingest just changed (a new episode) is left alone.
 *
 * Each batch locks the rows it picks with `FOR UPDATE SKIP LOCKED`: a row a concurrent ingest (or
 * purge) holds is skipped, left for the next purge, rather than waited for: an ingest locks its
 * alerts in fingerprint order and a batch would take them in another order, a deadlock.
 *
 * @throws QueryParameterError naming `olderThan` or `batchSize` (1 to {@link MAX_PURGE_BATCH_SIZE})
 */
export async function purgeHistory(db: Kysely<DB>, olderThan: Date, options: { readonly batchSize?: number } = {}): Promise<PurgeResult> {
  const before = dateParameter('olderThan', olderThan);
  const batchSize = integerParameter('batchSize', options.batchSize, 1, MAX_PURGE_BATCH_SIZE, DEFAULT_PURGE_BATCH_SIZE);

  const deletedEvents = await inBatches(async () => {
    const result = await db
      .deleteFrom('alert_events')
      .where('starts_at', '<', before)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('alert_events as e')
          .select('e.id')
          .where('e.starts_at', '<', before)
          .where((inner) =>
            inner.not(
              inner.exists(
                inner
                  .selectFrom('alerts as a')
                  .select(sql.lit(1).as('one'))
                  .whereRef('a.fingerprint', '=', 'e.fingerprint')
                  .whereRef('a.starts_at', '=', 'e.starts_at')
                  .where('a.status', '=', 'firing')
                  .where('e.status', '=', 'firing'),
              ),
            ),
          )
          .orderBy('e.starts_at', 'asc')
          .limit(batchSize)
          // rows another transaction holds are left for the next purge, never waited for
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return result.numDeletedRows;
  });

  const deletedAlerts = await inBatches(async () => {
    const result = await db
      .deleteFrom('alerts')
      .where('status', '=', 'resolved')
      .where('ends_at', '<', before)
      .where('fingerprint', 'in', (eb) =>
        eb
          .selectFrom('alerts as a')
          .select('a.fingerprint')
          .where('a.status', '=', 'resolved')
          .where('a.ends_at', '<', before)
          .orderBy('a.ends_at', 'asc')
          .limit(batchSize)
          // an ingest locks the rows of its alerts in fingerprint order, this in ends_at order:
          // waiting for its rows while holding others would deadlock, so rows it holds are skipped
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    return result.numDeletedRows;
  });

  return { deletedEvents, deletedAlerts };
}
