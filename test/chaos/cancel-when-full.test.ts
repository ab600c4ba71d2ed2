import { expect } from 'chai';
import { sql } from 'kysely';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase } from './support/chaos-database.js';
import { QueryTimeoutError } from '../../src/errors/query-timeout-error.js';
import { startChaosServer, waitFor, type ChaosServer } from './support/chaos-kit.js';
import { reportFigures } from './support/figures.js';

const SLOTS = 3;

describe('chaos: statements past their deadline on a server with no free connection slot', () => {
  let chaos: ChaosServer;
  let database: Database<unknown>;
  const debugLines: string[] = [];
  const logger = {
    error: () => undefined,
    warn: () => undefined,
    info: () => undefined,
    debug: (message: string, meta?: Record<string, unknown>) => void debugLines.push(`${message} ${JSON.stringify(meta ?? {})}`),
  };

  before(async () => {
    chaos = await startChaosServer({
      postgresFlags: ['-c', `max_connections=${SLOTS}`, '-c', 'superuser_reserved_connections=0', '-c', 'reserved_connections=0'],
    });
    database = chaosDatabase(chaos.configInput({ maxConns: SLOTS, acquireTimeout: 10_000 }), {
      env: {},
      logger,
      queryTimeoutMs: 300,
      cancelGraceMs: 10_000,
    });
  });

  after(async () => {
    await database?.close();
    await chaos?.stop();
  });

  it('cancels them with the protocol cancel request when no control connection can be opened, and reuses the connections', async () => {
    const { db, pool } = database;
    // every slot of the server is held by this pool
    // every statement on a connection of its own (db.connection()), also with multiplexing on (the
    // suite's second pass): this scenario is about canceling statements on exclusive connections
    const pidOfOwnConnection = async (): Promise<number | undefined> =>
      db.connection().execute(async (connection) => (await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.2)`.execute(connection)).rows[0]?.pid);
    const pids = await Promise.all(Array.from({ length: SLOTS }, pidOfOwnConnection));
    expect(new Set(pids).size).to.equal(SLOTS);
    const outcomes = await Promise.allSettled(Array.from({ length: SLOTS }, () => db.connection().execute((connection) => sql`select pg_sleep(60)`.execute(connection))));
    for (const outcome of outcomes) {
      expect(outcome.status).to.equal('rejected');
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(QueryTimeoutError);
    }
    // the sleeps stopped on the server (a control connection would have been refused with 53300),
    // so the connections come back clean, long before the grace (10 s) would close them
    await waitFor(() => pool.stats().active === 0, { timeoutMs: 8_000, description: 'the canceled connections to come back' });
    const after = await Promise.all(Array.from({ length: SLOTS }, pidOfOwnConnection));
    expect(new Set(after)).to.deep.equal(new Set(pids));
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(60)%' and state = 'active'`.execute(db);
    expect(rows[0]?.n).to.equal(0);
    expect(pool.stats().destroyedCount.error).to.equal(0);
    // it was the fallback that worked: pg_cancel_backend could not get a connection
    const fallbacks = debugLines.filter((line) => line.startsWith('could not cancel with pg_cancel_backend') && line.includes('53300'));
    expect(fallbacks).to.have.length(SLOTS);
    reportFigures('cancel-when-full', { slots: SLOTS, timedOut: outcomes.length, reusedConnections: after.length, destroyed: pool.stats().destroyedCount.error });
  });
});
