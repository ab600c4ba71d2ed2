import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from '../observability/logger.js';
import { transaction } from '../resilience/transaction.js';
import type { DB } from '../schema/database.js';

/** How the repository's read queries run. */
export interface ReadSettings {
  /** `statement_timeout` of each read statement, ms; 0 for the server's setting. */
  readonly statementTimeoutMs: number;
  readonly logger: Logger | undefined;
}

/**
 * Runs read-only work in one `repeatable read, read only` transaction (one snapshot for every
 * statement of it: `stats` reads buckets and times to resolve from the same data), with a
 * transaction-local `statement_timeout` so that no history query (say, with an expensive regular
 * expression) runs unbounded. Retried like any {@link transaction} (a lost connection before the
 * work finished).
 */
export function readTransaction<T>(db: Kysely<DB>, settings: ReadSettings, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return transaction(
    db,
    async (trx) => {
      if (settings.statementTimeoutMs > 0) {
        await sql`select set_config('statement_timeout', ${String(settings.statementTimeoutMs)}, true)`.execute(trx);
      }
      return work(trx);
    },
    { isolation: 'repeatable read', accessMode: 'read only', ...(settings.logger === undefined ? {} : { logger: settings.logger }) },
  );
}
