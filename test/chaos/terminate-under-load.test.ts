import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/database/create-database.js';
import { chaosDatabase, exclusiveActive } from './support/chaos-database.js';
import { classifyError } from '../../src/resilience/classify-error.js';
import type { RetryEvent } from '../../src/resilience/retry-policy.js';
import { startChaosServer, sleep, type ChaosServer } from './support/chaos-kit.js';
import { reportFigures } from './support/figures.js';

interface Schema {
  ledger: { id: string; worker: number };
}

const APPLICATION_NAME = 'chaos-terminate-load';
const WORKERS = 16;
const LOAD_MS = 5000;
const KILL_EVERY_MS = 200;

describe('chaos: backends terminated every 200 ms under 16 concurrent reads and writes', () => {
  let chaos: ChaosServer;
  let database: Database<Schema>;
  const retries: RetryEvent[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    chaos = await startChaosServer();
    // no unique constraint: a write sent twice would show up as two rows
    await chaos.admin((client) => client.query('create table ledger (id uuid not null, worker int not null)'));
    database = chaosDatabase<Schema>(chaos.configInput({ maxConns: 8, applicationName: APPLICATION_NAME, acquireTimeout: 10_000 }), {
      env: {},
      retry: { maxAttempts: 5, initialDelayMs: 5, maxDelayMs: 100 },
      observer: { onRetry: (event) => void retries.push(event) },
    });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await database?.close();
    await chaos?.stop();
  });

  it('keeps every acknowledged write exactly once, retries reads transparently and reports failed writes', async () => {
    const { db } = database;
    const acknowledged: string[] = [];
    const failedWrites: { id: string; error: unknown }[] = [];
    const readFailures: unknown[] = [];
    let reads = 0;
    let kills = 0;
    let terminated = 0;
    let running = true;

    const worker = async (n: number): Promise<void> => {
      let turn = 0;
      while (running) {
        turn += 1;
        if ((turn + n) % 2 === 0) {
          const id = randomUUID();
          try {
            await db.insertInto('ledger').values({ id, worker: n }).execute();
            acknowledged.push(id);
          } catch (error) {
            failedWrites.push({ id, error });
          }
        } else {
          try {
            await db.selectFrom('ledger').select((eb) => eb.fn.countAll<string>().as('n')).where('worker', '=', n).executeTakeFirstOrThrow();
            reads += 1;
          } catch (error) {
            readFailures.push(error);
          }
        }
      }
    };
    // one direct session (not through the pool under test) signals every 200 ms without waiting for the exits
    const killer = (): Promise<void> =>
      chaos.admin(async (admin) => {
        while (running) {
          await sleep(KILL_EVERY_MS);
          const { rows } = await admin.query<{ n: number }>(
            'select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1',
            [APPLICATION_NAME],
          );
          terminated += rows[0]?.n ?? 0;
          kills += 1;
        }
      });
    const load = Promise.all([...Array.from({ length: WORKERS }, (_, n) => worker(n)), killer()]);
    await sleep(LOAD_MS);
    running = false;
    await load;

    const landed = await chaos.admin(async (client) => {
      const { rows } = await client.query<{ id: string; copies: number }>('select id::text, count(*)::int as copies from ledger group by id');
      return new Map(rows.map((row) => [row.id, row.copies]));
    });
    const readRetries = retries.filter((r) => r.reason === 'read').length;
    const ambiguousLanded = failedWrites.filter((f) => landed.has(f.id)).length;
    reportFigures('terminate-under-load', {
      seconds: LOAD_MS / 1000,
      kills,
      backendsTerminated: terminated,
      writesAttempted: acknowledged.length + failedWrites.length,
      writesAcknowledged: acknowledged.length,
      writesFailed: failedWrites.length,
      failedWritesThatLanded: ambiguousLanded,
      acknowledgedLost: acknowledged.filter((id) => !landed.has(id)).length,
      reads,
      readFailures: readFailures.length,
      readRetries,
      connectRetries: retries.filter((r) => r.reason === 'connect').length,
      destroyed: database.pool.stats().destroyedCount,
    });

    expect(terminated, 'the killer must have hit connections').to.be.greaterThan(0);
    for (const id of acknowledged) expect(landed.get(id), `acknowledged write ${id}`).to.equal(1);
    for (const copies of landed.values()) expect(copies).to.equal(1); // nothing was ever written twice
    for (const { error } of failedWrites) expect(classifyError(error).kind, String(error)).to.equal('connection');
    expect(readFailures.map((error) => String(error))).to.deep.equal([]);
    expect(readRetries, 'reads hit by a kill were retried').to.be.greaterThan(0);
    expect(unhandled).to.deep.equal([]);
    // the pool serves normally afterwards
    for (let i = 0; i < 20; i += 1) await db.selectFrom('ledger').select('id').limit(1).execute();
    expect(exclusiveActive(database)).to.equal(0);
  });
});
