import { expect } from 'chai';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { createDatabase } from '../../../src/database/create-database.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { transaction } from '../../../src/resilience/transaction.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { configOf } from '../dialect/dialect-support.js';

/** A console-like logger that keeps every line with its level and meta. */
function capturing(lines: { level: string; message: string; meta: Record<string, unknown> }[]) {
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => void lines.push({ level, message, meta: meta ?? {} });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('observability: createDatabase wires metrics, query timing, health and component loggers', () => {
  let testDb: TestDatabase;

  before(async () => {
    testDb = await createTestDatabase('observability wiring');
  });

  after(async () => {
    await testDb?.drop();
  });

  it('reports into a new registry by default, with the pool, statements, breaker and health', async () => {
    const database = createDatabase(configOf(testDb), { poolName: 'wired', health: { periodMs: 60_000 } });
    try {
      await sql`select 1`.execute(database.db);
      const report = await database.health?.check();
      expect(report?.status).to.equal('healthy');
      const text = await database.metrics?.registry.metrics();
      expect(text).to.include('db_client_operation_duration_seconds_count{pool="wired",operation="select",table="(none)",outcome="success"} 1');
      expect(text).to.include('db_client_connection_max{pool="wired"} 10');
      expect(text).to.include('db_client_circuit_breaker_state{pool="wired",state="closed"} 1');
      expect(text).to.include('db_client_health_status{pool="wired",status="healthy"} 1');
    } finally {
      await database.close();
    }
    expect(database.health?.running).to.equal(false);
  });

  it('counts the retries of transaction() on its db, and tells the observer, without wiring at the call', async () => {
    const seen: string[] = [];
    const database = createDatabase(configOf(testDb), { poolName: 'trx', health: false, observer: { onRetry: (event) => void seen.push(event.reason) } });
    try {
      let calls = 0;
      const result = await transaction(
        database.db,
        async (trx) => {
          calls += 1;
          await sql`select 1`.execute(trx);
          // a serialization failure on the first attempt: the whole transaction runs again
          if (calls === 1) throw Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' });
          return 'committed';
        },
        { retries: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
      );
      expect(result).to.equal('committed');
      expect(calls).to.equal(2);
      expect(seen).to.deep.equal(['transaction']);
      const text = await database.metrics?.registry.metrics();
      expect(text).to.include('db_client_retries_total{pool="trx",reason="transaction"} 1');
    } finally {
      await database.close();
    }
  });

  it('shares a registry between two databases with different pool names, and logs slow queries by component', async () => {
    const registry = new Registry();
    const lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
    const first = createDatabase(configOf(testDb), { poolName: 'first', metrics: createMetrics({ registry }), logger: capturing(lines), slowQueryMs: 1, health: false });
    const second = createDatabase(configOf(testDb), { poolName: 'second', metrics: createMetrics({ registry }), health: false });
    try {
      await sql`select pg_sleep(0.01)`.execute(first.db);
      await sql`select 2`.execute(second.db);
      const text = await registry.metrics();
      expect(text).to.include('db_client_connection_max{pool="first"}');
      expect(text).to.include('db_client_connection_max{pool="second"}');
      expect(text).to.include('db_client_slow_queries_total{pool="first",operation="select"} 1');
      const slow = lines.find((line) => line.message === 'slow query');
      expect(slow?.level).to.equal('warn');
      expect(slow?.meta).to.include({ pool: 'first', operation: 'select', sql: 'select pg_sleep(0.01)' });
      expect(first.health).to.equal(undefined);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('runs without metrics when told so', async () => {
    const database = createDatabase(configOf(testDb), { metrics: false, health: false });
    try {
      expect(database.metrics).to.equal(undefined);
      expect((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows).to.deep.equal([{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it('rejects invalid observability options before anything is opened', () => {
    expect(() => createDatabase(configOf(testDb), { metrics: {} as never })).to.throw(TypeError, 'metrics must come from createMetrics()');
    expect(() => createDatabase(configOf(testDb), { health: 'yes' as never })).to.throw(TypeError, 'health must be health checker options or false');
  });
});
