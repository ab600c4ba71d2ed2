import { expect } from 'chai';
import { Kysely, sql } from 'kysely';
import { Registry, type MetricObject, type MetricValue } from 'prom-client';
import { loadConfig } from '../../../src/config/load-config.js';
import { createDialect } from '../../../src/dialect/create-dialect.js';
import { findFreePort } from '../../../src/embedded/embedded-server.js';
import { createMetrics, type DatabaseMetrics } from '../../../src/observability/metrics.js';
import { queryTiming } from '../../../src/observability/query-timing.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { createCircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { transaction } from '../../../src/resilience/transaction.js';
import { failureOf } from '../../support/failure.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, configOf } from '../dialect/dialect-support.js';

interface Schema {
  item: { id: number; name: string };
}

type Labels = Record<string, string | number>;

/** A sample as prom-client returns it; histogram samples name their series (`_bucket`, `_sum`, `_count`). */
type Sample = MetricValue<string> & { readonly metricName?: string };

async function values(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const got = (await metric.get()) as MetricObject & { values: Sample[] };
  return got.values;
}

/** The value of the series of `name` whose labels include `labels` (exactly one must match). */
async function valueOf(registry: Registry, name: string, labels: Labels): Promise<number> {
  const matching = (await values(registry, name)).filter((v) =>
    Object.entries(labels).every(([key, value]) => (v.labels as Labels)[key] === value),
  );
  if (matching.length !== 1) throw new Error(`${matching.length} series of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? Number.NaN;
}

/** Sample count of the histogram series of `name` whose labels include `labels` (`<name>_count`). */
async function countOf(registry: Registry, name: string, labels: Labels): Promise<number> {
  const matching = (await values(registry, name)).filter(
    (v) => v.metricName === `${name}_count` && Object.entries(labels).every(([key, value]) => (v.labels as Labels)[key] === value),
  );
  if (matching.length !== 1) throw new Error(`${matching.length} count series of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? Number.NaN;
}

describe('observability: Prometheus metrics', () => {
  let testDb: TestDatabase;
  let registry: Registry;
  let metrics: DatabaseMetrics;
  let pool: InstrumentedPool;
  let db: Kysely<Schema>;
  let untrack: () => void;

  before(async () => {
    testDb = await createTestDatabase('observability metrics');
    await adminQuery(testDb, 'create table item (id int primary key, name text not null)');
    registry = new Registry();
    metrics = createMetrics({ registry });
    pool = createPool(configOf(testDb, { maxConns: 2 }), { name: 'main', observer: metrics.poolObserver('main') });
    untrack = metrics.trackPool(pool);
    db = new Kysely<Schema>({
      dialect: createDialect({
        pool,
        interceptors: [queryTiming({ metrics, poolName: 'main', slowQueryMs: 0 })],
        observer: metrics.resilienceObserver('main'),
      }),
    });
  });

  after(async () => {
    untrack?.();
    await db?.destroy();
    await pool?.close();
    await testDb?.drop();
  });

  it('counts statements by operation, main table and outcome, and errors by kind and SQLSTATE class', async () => {
    await db.insertInto('item').values({ id: 1, name: 'one' }).execute();
    for (let i = 0; i < 3; i += 1) await db.selectFrom('item').selectAll().execute();
    await sql`select 1`.execute(db);
    expect(await failureOf(db.insertInto('item').values({ id: 1, name: 'again' }).execute())).to.have.property('code', '23505');
    expect(await failureOf(sql`select * from missing_table`.execute(db))).to.have.property('code', '42P01');

    const duration = 'db_client_operation_duration_seconds';
    expect(await countOf(registry, duration, { pool: 'main', operation: 'select', table: 'item', outcome: 'success' })).to.equal(3);
    expect(await countOf(registry, duration, { pool: 'main', operation: 'insert', table: 'item', outcome: 'success' })).to.equal(1);
    expect(await countOf(registry, duration, { pool: 'main', operation: 'insert', table: 'item', outcome: 'error' })).to.equal(1);
    expect(await countOf(registry, duration, { pool: 'main', operation: 'select', table: '(none)', outcome: 'success' })).to.equal(1);
    expect(await countOf(registry, duration, { pool: 'main', operation: 'select', table: '(none)', outcome: 'error' })).to.equal(1);
    const errors = 'db_client_errors_total';
    expect(await valueOf(registry, errors, { pool: 'main', operation: 'insert', kind: 'constraint', sqlstate_class: '23' })).to.equal(1);
    expect(await valueOf(registry, errors, { pool: 'main', operation: 'select', kind: 'programming', sqlstate_class: '42' })).to.equal(1);
  });

  it('reports the pool from its stats at scrape time: connections, max, waiting, created, acquisitions', async () => {
    const stats = pool.stats();
    expect(await valueOf(registry, 'db_client_connections_usage', { pool: 'main', state: 'idle' })).to.equal(stats.idle);
    expect(await valueOf(registry, 'db_client_connections_usage', { pool: 'main', state: 'used' })).to.equal(0);
    expect(await valueOf(registry, 'db_client_connection_max', { pool: 'main' })).to.equal(2);
    expect(await valueOf(registry, 'db_client_connection_pending_requests', { pool: 'main' })).to.equal(0);
    expect(await valueOf(registry, 'db_client_connection_created_total', { pool: 'main' })).to.equal(stats.createdCount);
    expect(await valueOf(registry, 'db_client_connection_closed_total', { pool: 'main', reason: 'error' })).to.equal(stats.destroyedCount.error);
    expect(await countOf(registry, 'db_client_connection_wait_time_seconds', { pool: 'main' })).to.equal(stats.acquireCount);
    expect(await countOf(registry, 'db_client_connection_create_time_seconds', { pool: 'main' })).to.equal(stats.createdCount);
    expect(await countOf(registry, 'db_client_connection_use_time_seconds', { pool: 'main' })).to.equal(stats.acquireCount);
    // a connection held: used 1 at the next scrape
    await db.connection().execute(async () => {
      expect(await valueOf(registry, 'db_client_connections_usage', { pool: 'main', state: 'used' })).to.equal(1);
    });
  });

  it('records transactions by outcome with their duration, and retries by reason', async () => {
    await transaction(db, (trx) => trx.insertInto('item').values({ id: 2, name: 'two' }).execute());
    await failureOf(
      transaction(db, async (trx) => {
        await trx.insertInto('item').values({ id: 3, name: 'three' }).execute();
        throw new Error('undo');
      }),
    );
    expect(await countOf(registry, 'db_client_transaction_duration_seconds', { pool: 'main', outcome: 'commit' })).to.equal(1);
    expect(await countOf(registry, 'db_client_transaction_duration_seconds', { pool: 'main', outcome: 'rollback' })).to.equal(1);

    // connect retries and the breaker of a second pool, on a port where nothing listens
    const port = await findFreePort();
    const deadPool = createPool(loadConfig({}, { host: '127.0.0.1', port, user: 'nobody', database: 'none', sslMode: 'disable' }), {
      name: 'dead',
      observer: metrics.poolObserver('dead'),
    });
    const stopPool = metrics.trackPool(deadPool);
    const breaker = createCircuitBreaker({ name: 'dead', threshold: 2, halfOpenAfterMs: 600_000 });
    const stopBreaker = metrics.trackBreaker('dead', breaker);
    const dead = new Kysely<Schema>({
      dialect: createDialect({ pool: deadPool, breaker, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 }, observer: metrics.resilienceObserver('dead') }),
    });
    try {
      expect(await valueOf(registry, 'db_client_circuit_breaker_state', { pool: 'dead', state: 'closed' })).to.equal(1);
      await failureOf(dead.selectFrom('item').selectAll().execute());
      // attempt 1 and 2 refused (two retries announced), attempt 3 met the open breaker
      expect(await valueOf(registry, 'db_client_retries_total', { pool: 'dead', reason: 'connect' })).to.equal(2);
      expect(await valueOf(registry, 'db_client_circuit_breaker_state', { pool: 'dead', state: 'open' })).to.equal(1);
      expect(await valueOf(registry, 'db_client_circuit_breaker_state', { pool: 'dead', state: 'closed' })).to.equal(0);
      expect(await valueOf(registry, 'db_client_connection_connect_errors_total', { pool: 'dead' })).to.equal(2);
      // the statement never ran: counted as refused (operation none), so error-rate alerts see outages
      expect(await valueOf(registry, 'db_client_errors_total', { pool: 'dead', operation: 'none', kind: 'connection', sqlstate_class: 'none' })).to.equal(1);
      expect(() => metrics.trackBreaker('dead', createCircuitBreaker({ name: 'dead' }))).to.throw(TypeError, 'a breaker of pool "dead" already reports');
    } finally {
      stopBreaker();
      stopPool();
      await dead.destroy();
      await deadPool.close();
    }
    // untracked: every series of the closed pool is gone, histograms and counters included
    for (const name of ['db_client_connection_max', 'db_client_retries_total', 'db_client_errors_total', 'db_client_connection_wait_time_seconds', 'db_client_circuit_breaker_state']) {
      expect((await values(registry, name)).filter((v) => v.labels.pool === 'dead'), name).to.deep.equal([]);
    }
    expect((await values(registry, 'db_client_connection_max')).map((v) => v.labels.pool)).to.deep.equal(['main']);
  });

  it('keeps label sets bounded under 10,000 distinct SQL texts and many tables', async () => {
    const bounded = new Registry();
    const few = createMetrics({ registry: bounded, maxTableLabels: 3 });
    const timed = new Kysely<Record<string, { id: number }>>({
      dialect: createDialect({ pool, interceptors: [queryTiming({ metrics: few, poolName: 'bounded', slowQueryMs: 0 })] }),
    });
    for (let i = 0; i < 10_000; i += 1) {
      await sql`select ${sql.raw(String(i))} as n`.execute(timed);
    }
    // 10 distinct tables through the query builder (they do not exist: errors are labelled too)
    for (let i = 0; i < 10; i += 1) await failureOf(timed.selectFrom(`t_${i}`).selectAll().execute());
    await timed.destroy();
    const series = (await values(bounded, 'db_client_operation_duration_seconds')).filter((v) => v.metricName?.endsWith('_count'));
    const labelSets = series.map((v) => `${String(v.labels.table)}/${String(v.labels.outcome)}`).sort();
    expect(labelSets).to.deep.equal(['(none)/success', '(other)/error', 't_0/error', 't_1/error', 't_2/error']);
    expect(await countOf(bounded, 'db_client_operation_duration_seconds', { pool: 'bounded', table: '(none)', outcome: 'success' })).to.equal(10_000);
    expect(await countOf(bounded, 'db_client_operation_duration_seconds', { pool: 'bounded', table: '(other)', outcome: 'error' })).to.equal(7);
  });

  it('writes Prometheus text with HELP and TYPE for every family', async () => {
    const text = await registry.metrics();
    expect(registry.contentType).to.match(/^text\/plain; version=0\.0\.4/);
    for (const name of ['db_client_connections_usage', 'db_client_operation_duration_seconds', 'db_client_errors_total', 'db_client_retries_total']) {
      expect(text).to.include(`# HELP ${name} `);
      expect(text).to.include(`# TYPE ${name} `);
    }
    // labels come from the query tree, never from SQL text
    expect(text).to.not.include('missing_table');
    expect(text).to.not.include('from item');
  });

  it('keeps the table limit a registry was created with', () => {
    expect(() => createMetrics({ registry, maxTableLabels: 7 })).to.throw(TypeError, 'created with maxTableLabels 50');
    expect(() => createMetrics({ registry: {} as Registry })).to.throw(TypeError, 'must be a prom-client Registry');
  });

  it('shares one registry between several createMetrics calls, and refuses two pools with one name', () => {
    const again = createMetrics({ registry });
    expect(() => again.trackPool(pool)).to.not.throw();
    const twin = createPool(configOf(testDb, { maxConns: 1, minConns: 0 }), { name: 'main' });
    try {
      expect(() => again.trackPool(twin)).to.throw(TypeError, 'a pool named "main" already reports into this registry');
    } finally {
      void twin.close();
    }
  });
});
