import type pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import type { Logger } from '../observability/logger.js';
import { describeError } from '../observability/describe-error.js';
import type { ConnectionRecord } from './connection-record.js';
import type { OpenClientOptions } from './instrumented-pool.js';
import { processIdOf } from './pooled-connection.js';
import { settlesWithin } from './settles-within.js';

/** `openClient` options, plus what `close()` needs for its control connection. */
export interface InternalOpenClientOptions extends OpenClientOptions {
  /** Replaces `connectTimeoutMs` for this client. */
  readonly connectTimeoutMs?: number;
}

/** What {@link terminateBackends} connects with and reports to. */
export interface TerminateBackendsContext {
  readonly config: PostgresConfig;
  readonly poolName: string;
  readonly logger: Logger;
  /** The pool's `openClient`, without its closed check. */
  readonly openClient: (options: InternalOpenClientOptions) => Promise<pg.Client>;
}

/**
 * `pg_terminate_backend` for each connection in `records`, from one control connection outside
 * the pool (the pool's settings, the TLS setting of the first connection: one attempt). Bounded
 * by `hardDeadline`; a failure is logged, never thrown.
 */
export async function terminateBackends(
  context: TerminateBackendsContext,
  records: readonly ConnectionRecord[],
  hardDeadline: number,
): Promise<void> {
  const { config, poolName, logger } = context;
  const processIds = records.map((record) => processIdOf(record.client)).filter((pid) => pid !== undefined);
  const like = records[0]?.client;
  if (processIds.length === 0 || like === undefined) return;
  const budgetMs = Math.max(1, Math.ceil(hardDeadline - performance.now()));
  const { connectTimeoutMs } = config;
  let control: pg.Client | undefined;
  let controlEnded = false;
  const endControl = (): void => {
    if (control === undefined || controlEnded) return;
    controlEnded = true;
    control.end().catch(() => undefined);
  };
  const work = (async () => {
    control = await context.openClient({
      applicationName: `${config.applicationName} (close)`,
      like,
      connectTimeoutMs: connectTimeoutMs > 0 ? Math.min(connectTimeoutMs, budgetMs) : budgetMs,
    });
    const { rows } = await control.query<{ pid: number; terminated: boolean }>(
      'select pid, pg_terminate_backend(pid) as terminated from unnest($1::int[]) as pid',
      [processIds],
    );
    return rows;
  })();
  let failure: unknown;
  let rows: { pid: number; terminated: boolean }[] | undefined;
  work.then(
    (result) => {
      rows = result;
    },
    (error: unknown) => {
      failure = error;
    },
  );
  const settled = await settlesWithin(work, budgetMs);
  endControl(); // also stops a statement still waiting for its answer
  work.then(endControl, endControl); // a control connection that arrives late is ended too
  if (rows !== undefined) {
    const missed = rows.filter((row) => !row.terminated).map((row) => row.pid);
    logger.debug('terminated the backends of connections not released before the close timeout', {
      pool: poolName,
      processIds,
    });
    if (missed.length > 0) {
      logger.warn('some backends were already gone or could not be terminated', { pool: poolName, processIds: missed });
    }
    return;
  }
  logger.warn('could not terminate the backends of connections not released before the close timeout; their statements may go on running on the server', {
    pool: poolName,
    processIds,
    error: settled ? describeError(failure) : { message: `timed out after ${budgetMs} ms` },
  });
}
