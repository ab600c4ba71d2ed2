/**
 * Our dialect, bare (`createDialect` with its defaults: retries and breaker on, no interceptors)
 * and with everything on: the same wiring `createDatabase` does (pool observer and pool gauges,
 * query timing into prom-client metrics, resilience observer, breaker gauge, retries), plus the
 * audit log and the statement cache. It is wired by hand, with `createPool` and `createDialect`,
 * so that exactly these interceptors run, whatever `createDatabase` adds by default.
 */
import { Kysely } from 'kysely';
import {
  createDatabase,
  createCircuitBreaker,
  createDialect,
  createMetrics,
  createPool,
  loadConfig,
  queryTiming,
  type DatabaseMetrics,
  type PostgresConfigInput,
} from '../../src/index.js';
import { auditLog } from '../../src/plugins/audit-log.js';
import { statementCache } from '../../src/plugins/statement-cache.js';
import { kyselyClient, type BenchDatabase } from './kysely-queries.js';
import type { BenchClient } from './workloads.js';

function settings(url: string, max: number): PostgresConfigInput {
  return { connectionString: url, sslMode: 'disable', maxConns: max };
}

export function ourDialectClient(url: string, max: number): BenchClient {
  // env: {} so that no PG* variable of the shell changes what is measured.
  return kyselyClient(new Kysely<BenchDatabase>({ dialect: createDialect({ config: settings(url, max), env: {} }) }));
}

async function counterValue(metrics: DatabaseMetrics, name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) return Number.NaN;
  const { values } = await metric.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

/** Our dialect with everything on, as {@link ourAllOnClient} and the precompiled client use it. */
export interface AllOnDatabase {
  readonly db: Kysely<BenchDatabase>;
  /** Destroys the Kysely instance, stops the gauges and closes the pool. */
  close(): Promise<void>;
  /** Statement cache hits and misses, audit records. */
  stats(): Promise<Readonly<Record<string, number>>>;
}

export function ourAllOnDatabase(url: string, max: number): AllOnDatabase {
  const poolName = 'bench';
  const metrics = createMetrics();
  const pool = createPool(loadConfig({}, settings(url, max)), { name: poolName, observer: metrics.poolObserver(poolName) });
  const breaker = createCircuitBreaker({ name: poolName });
  const stopTracking = [metrics.trackPool(pool), metrics.trackBreaker(poolName, breaker)];
  let auditRecords = 0;
  const dialect = createDialect({
    pool,
    breaker,
    observer: metrics.resilienceObserver(poolName),
    // Outermost first: timing sees everything; the audit log (default settings: it records the
    // writes); the statement cache innermost, since it names the statement actually sent.
    interceptors: [
      queryTiming({ metrics, poolName }),
      // The sink only counts: the audit log's own work is measured, not the I/O of a real sink.
      auditLog({
        sink: {
          write: () => {
            auditRecords++;
          },
        },
      }),
      statementCache({ counters: metrics.statementCache(poolName) }),
    ],
  });
  const db = new Kysely<BenchDatabase>({ dialect });
  return {
    db,
    close: async () => {
      await db.destroy();
      for (const stop of stopTracking) stop();
      await pool.close();
    },
    stats: async () => ({
      statementCacheHits: await counterValue(metrics, 'db_client_statement_cache_hits_total'),
      statementCacheMisses: await counterValue(metrics, 'db_client_statement_cache_misses_total'),
      auditRecords,
    }),
  };
}

export function ourAllOnClient(url: string, max: number): BenchClient {
  const { db, close, stats } = ourAllOnDatabase(url, max);
  return { ...kyselyClient(db, close), stats };
}

/**
 * Everything on, plus multiplexing (its defaults): `createDatabase` (query timing into metrics,
 * statement cache, resilience observer, breaker, retries) with the same counting audit log as
 * {@link ourAllOnDatabase}. Multiplexing is only offered by `createDatabase`, whose wiring is the
 * same as the hand-made one above but for the health checker, which is off here as it is there.
 */
export function ourAllOnMultiplexedDatabase(url: string, max: number): AllOnDatabase {
  let auditRecords = 0;
  const database = createDatabase<BenchDatabase>(settings(url, max), {
    env: {},
    poolName: 'bench',
    health: false,
    // BENCH_MULTIPLEX_CONNECTIONS: the shared connections to try (default: the library's default)
    multiplex: process.env.BENCH_MULTIPLEX_CONNECTIONS ? { connections: Number(process.env.BENCH_MULTIPLEX_CONNECTIONS) } : true,
    interceptors: [
      auditLog({
        sink: {
          write: () => {
            auditRecords++;
          },
        },
      }),
    ],
  });
  const metrics = database.metrics;
  if (metrics === undefined) throw new Error('createDatabase made no metrics');
  return {
    db: database.db,
    close: () => database.close(),
    stats: async () => ({
      statementCacheHits: await counterValue(metrics, 'db_client_statement_cache_hits_total'),
      statementCacheMisses: await counterValue(metrics, 'db_client_statement_cache_misses_total'),
      auditRecords,
      multiplexed: database.multiplexStats()?.multiplexed ?? 0,
      exclusive: database.multiplexStats()?.exclusive ?? 0,
      slowTexts: database.multiplexStats()?.slowTexts ?? 0,
    }),
  };
}

export function ourAllOnMultiplexedClient(url: string, max: number): BenchClient {
  const { db, close, stats } = ourAllOnMultiplexedDatabase(url, max);
  return { ...kyselyClient(db, close), stats };
}
