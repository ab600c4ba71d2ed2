import { Kysely, type KyselyConfig } from 'kysely';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import { dialectOnPool } from '../dialect/create-dialect.js';
import type { DialectCommonOptions } from '../dialect/dialect-options.js';
import { InterceptorChain } from '../dialect/interceptor-chain.js';
import { resolveConfig } from '../dialect/pg-settings.js';
import { resolveDriverResilience } from '../dialect/resilience-settings.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { silentLogger } from '../observability/logger.js';
import { createPool } from '../pool/create-pool.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';

/** Options of {@link createDatabase}. */
export interface CreateDatabaseOptions extends DialectCommonOptions {
  /** Label of the pool in metrics and logs. Default `default`. */
  readonly poolName?: string;
  /** Environment read by `loadConfig` when the configuration is not loaded yet. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Kysely options besides the dialect (`plugins`, `log`). */
  readonly kysely?: Omit<KyselyConfig, 'dialect'>;
  /** How long `close()` waits for borrowed connections before destroying them. Default: the pool's. */
  readonly closeTimeoutMs?: number;
}

/** A ready database: the Kysely instance, its pool, and one call to shut both down. */
export interface Database<DB> {
  /** Typed query builder over the pool. */
  readonly db: Kysely<DB>;
  /** The pool under `db` (stats, warm-up). */
  readonly pool: InstrumentedPool;
  /** The circuit breaker guarding `db`'s connection acquisition (`undefined` with `breaker: false`): its `state` for health and metrics. */
  readonly breaker: CircuitBreaker | undefined;
  /** Destroys `db`, then closes the pool. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}

/**
 * Wires configuration, pool and dialect into a `Kysely<DB>`: the one call an application makes.
 * With no configuration, `loadConfig` reads the environment (`DATABASE_URL`, `PG*`…); with a
 * `PostgresConfigInput`, it is merged over the environment; a `PostgresConfig` produced by
 * `loadConfig` is used as it is (a copy of one, e.g. `{ ...config, maxConns: 20 }`, is rejected:
 * pass overrides to `loadConfig`). Everything is validated before the pool is created, so nothing
 * is opened when it throws: `ConfigError` for the configuration, `TypeError` for the interceptors.
 */
export function createDatabase<DB>(config?: PostgresConfig | PostgresConfigInput, options: CreateDatabaseOptions = {}): Database<DB> {
  const logger = options.logger ?? silentLogger;
  const chain = InterceptorChain.of(options.interceptors, logger);
  const resilience = resolveDriverResilience(options);
  const resolved = resolveConfig(config, options.env ?? process.env);
  const pool = createPool(resolved, { logger, ...(options.poolName === undefined ? {} : { name: options.poolName }) });
  const breaker = typeof resilience.breaker === 'function' ? resilience.breaker(pool) : resilience.breaker;
  let db: Kysely<DB>;
  try {
    db = new Kysely<DB>({ ...options.kysely, dialect: dialectOnPool(pool, chain, logger, { ...resilience, breaker }) });
  } catch (error) {
    // e.g. invalid Kysely options: do not leave the pool (and its warm-up connections) behind
    pool.close().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  const closeTimeoutMs = options.closeTimeoutMs;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await db.destroy();
      } finally {
        await pool.close(closeTimeoutMs === undefined ? undefined : { timeoutMs: closeTimeoutMs });
      }
    })();
    return closing;
  };
  return Object.freeze({ db, pool, breaker, close });
}
