import { setTimeout as sleep } from 'node:timers/promises';
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

/** Default {@link MigratorOptions.lockTimeoutMs}: 5 minutes, goose's 60 tries × 5 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60 * 1000;

/** Default {@link MigratorOptions.lockRetryMs}: 5 s, goose's probe interval. */
export const DEFAULT_LOCK_RETRY_MS = 5000;

/**
 * How often a waiting runner tries the lock again, in ms (at most; never more than `retryMs`).
 * Short, so that a runner gets the lock soon after it is released; each try is one
 * `pg_try_advisory_lock`, which never waits in the server.
 */
export const LOCK_POLL_MS = 200;

/** Options of {@link withMigrationLock}. */
export interface MigrationLockOptions {
  /** Longest total wait for the lock, in ms (0: one try, no wait). Default {@link DEFAULT_LOCK_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Interval at which a waiting runner reports who holds the lock, in ms. Default {@link DEFAULT_LOCK_RETRY_MS}. */
  readonly retryMs?: number;
  /** Where waiting and unlock problems are reported. Default: silent. */
  readonly logger?: Logger;
}

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
 * Takes goose's session advisory lock on `session`, runs `work`, and releases the lock
 * (`pg_advisory_unlock`) in a `finally`, whatever `work` did. The lock belongs to the session:
 * if the session dies, the server releases it.
 *
 * Waiting. The runner polls with `pg_try_advisory_lock`, as goose does (every 5 s), but every
 * {@link LOCK_POLL_MS}, so it gets the lock soon after the holder releases it; it logs who holds
 * the lock every `retryMs`. The total wait is bounded by `timeoutMs` as goose's is by its 60 × 5 s.
 * It never waits in the server's lock queue (`pg_advisory_lock`): a statement waiting there holds
 * a snapshot, and the holder's `CREATE INDEX CONCURRENTLY` (or any other command that waits for
 * older snapshots, in a NO TRANSACTION migration) would wait for it while it waits for the
 * holder's lock, a deadlock the server breaks by failing one of them. Between two tries the
 * waiting session is idle, outside any transaction.
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
  let nextReport = started;
  while (!locked) {
    const remaining = timeoutMs - (Date.now() - started);
    if (remaining <= 0) {
      throw new MigrationLockError({ lockId: MIGRATION_LOCK_ID, timeoutMs, holderPid: await holderPid(session) });
    }
    if (Date.now() >= nextReport) {
      logger.info('waiting for the migration lock: another migration holds it', {
        lockId: String(MIGRATION_LOCK_ID),
        holderPid: await holderPid(session),
        waitedMs: Date.now() - started,
        timeoutMs,
      });
      nextReport = Date.now() + retryMs;
    }
    await sleep(Math.min(LOCK_POLL_MS, retryMs, remaining));
    locked = await tryLock(session);
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
