import { MigrationLockError } from '../errors/migration-error.js';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import type { MigrationSession } from './migration-types.js';

/**
 * goose's advisory lock key (`lock.DefaultLockID`, the CRC-32 of `"goose"`), so that goose and
 * this migrator exclude each other on one database. Sent as a `bigint` (`pg_advisory_lock(bigint)`):
 * in `pg_locks` it shows as `classid = 0`, `objid = 4097083626`, `objsubid = 1`.
 */
export const MIGRATION_LOCK_ID = 4097083626n;

/** Default {@link MigrationLockOptions.timeoutMs}: 5 minutes, goose's 60 tries × 5 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60 * 1000;

/** Default {@link MigrationLockOptions.retryMs}: 5 s, goose's probe interval. */
export const DEFAULT_LOCK_RETRY_MS = 5000;

/** Options of {@link withMigrationLock}. */
export interface MigrationLockOptions {
  /** Longest total wait for the lock, in ms (0: one try, no wait). Default {@link DEFAULT_LOCK_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Interval at which a waiting runner reports (and re-queues), in ms. Default {@link DEFAULT_LOCK_RETRY_MS}. */
  readonly retryMs?: number;
  /** Where waiting and unlock problems are reported. Default: silent. */
  readonly logger?: Logger;
}

/** SQLSTATE of `lock_timeout`. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The pid of the session holding the lock, if any (read with the same session; `undefined` when unreadable). */
async function holderPid(session: MigrationSession): Promise<number | undefined> {
  try {
    const result = await session.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = $1 AND objid = $2 AND objsubid = 1 LIMIT 1`,
      [String(MIGRATION_LOCK_ID >> 32n), String(MIGRATION_LOCK_ID & 0xffffffffn)],
    );
    const pid = result.rows[0]?.pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function tryLock(session: MigrationSession): Promise<boolean> {
  const result = await session.query('SELECT pg_try_advisory_lock($1) AS locked', [String(MIGRATION_LOCK_ID)]);
  return result.rows[0]?.locked === true;
}

/**
 * Waits for the lock in the server's queue for at most `waitMs`: `pg_advisory_lock` in a
 * transaction whose `lock_timeout` is `waitMs` (and whose `statement_timeout` is off, so that the
 * session's own setting cannot cut the wait short). A session-level advisory lock outlives the
 * transaction it was taken in. Returns false when `lock_timeout` expired.
 */
async function waitForLock(session: MigrationSession, waitMs: number): Promise<boolean> {
  await session.query('BEGIN');
  try {
    await session.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.ceil(waitMs))}`);
    await session.query('SET LOCAL statement_timeout = 0');
    await session.query('SELECT pg_advisory_lock($1)', [String(MIGRATION_LOCK_ID)]);
    await session.query('COMMIT');
    return true;
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) return false;
    throw error;
  }
}

/**
 * Takes goose's session advisory lock on `session`, runs `work`, and releases the lock
 * (`pg_advisory_unlock`) in a `finally`, whatever `work` did. The lock belongs to the session:
 * if the session dies, the server releases it.
 *
 * Waiting. goose polls `pg_try_advisory_lock` every 5 s (60 times). Here the runner waits in the
 * server's lock queue instead (`pg_advisory_lock` under `lock_timeout`), for two reasons: it gets
 * the lock the moment the holder releases it, rather than up to one interval later (replicas of a
 * service starting together run their migrations one after the other without idle gaps), and
 * waiters are served in order, so a runner cannot be overtaken indefinitely by later ones. The
 * wait is cut into slices of `retryMs`: between two slices the runner logs who holds the lock and
 * queues again. The total wait is bounded by `timeoutMs` as goose's is by its 60 × 5 s. goose's
 * own polling still excludes this runner (a `pg_try_advisory_lock` fails while the lock is held),
 * and this runner waits for goose's.
 *
 * @throws {MigrationLockError} when the lock was not obtained within `timeoutMs` (nothing of
 *   `work` ran); a server error while locking is rethrown as it is.
 */
export async function withMigrationLock<T>(session: MigrationSession, work: () => Promise<T>, options: MigrationLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const retryMs = options.retryMs ?? DEFAULT_LOCK_RETRY_MS;
  const logger = options.logger ?? silentLogger;
  const started = Date.now();
  let locked = await tryLock(session);
  while (!locked) {
    const remaining = timeoutMs - (Date.now() - started);
    if (remaining <= 0) {
      throw new MigrationLockError({ lockId: MIGRATION_LOCK_ID, timeoutMs, holderPid: await holderPid(session) });
    }
    logger.info('waiting for the migration lock: another migration holds it', {
      lockId: String(MIGRATION_LOCK_ID),
      holderPid: await holderPid(session),
      waitedMs: Date.now() - started,
      timeoutMs,
    });
    locked = await waitForLock(session, Math.min(retryMs, remaining));
  }
  try {
    return await work();
  } finally {
    try {
      const result = await session.query('SELECT pg_advisory_unlock($1) AS unlocked', [String(MIGRATION_LOCK_ID)]);
      if (result.rows[0]?.unlocked !== true) logger.warn('the migration lock was not held at release', { lockId: String(MIGRATION_LOCK_ID) });
    } catch (error) {
      // the session is unusable: the server releases the lock when it ends
      logger.warn('could not release the migration lock; it is released when the session ends', describeError(error));
    }
  }
}
