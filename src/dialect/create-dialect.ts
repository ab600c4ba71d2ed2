import type { Dialect } from 'kysely';
import { isLoadedConfig } from '../config/frozen-config.js';
import { loadConfig } from '../config/load-config.js';
import type { PostgresConfig, PostgresConfigInput } from '../config/postgres-config.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createPool } from '../pool/create-pool.js';
import type { InstrumentedPool } from '../pool/instrumented-pool.js';
import type {
  ConfigDialectOptions,
  CreateDialectOptions,
  OwnedPoolOptions,
  PoolDialectOptions,
  SettingsDialectOptions,
} from './dialect-options.js';
import { PostgresPoolDialect } from './dialect.js';
import type { PoolSource } from './driver.js';
import { InterceptorChain } from './interceptor-chain.js';
import { resolveConfig, toConfigInput } from './pg-settings.js';
import type { DriverResilience } from './driver.js';
import { resolveDriverResilience } from './resilience-settings.js';
import type { ResolvedMultiplexOptions } from './multiplex/multiplex-options.js';

function isPoolOptions(options: CreateDialectOptions): options is PoolDialectOptions {
  return 'pool' in options && options.pool !== undefined;
}

function isConfigOptions(options: CreateDialectOptions): options is ConfigDialectOptions {
  return 'config' in options && options.config !== undefined;
}

/** A source that creates the pool on first use, once, from a configuration loaded now (so that problems surface here). */
function ownedPool(config: PostgresConfig, owned: OwnedPoolOptions, logger: Logger): PoolSource {
  let pool: Promise<InstrumentedPool> | undefined;
  return Object.freeze({
    owned: true,
    open: () => {
      pool ??= Promise.resolve().then(() =>
        createPool(config, { logger, ...(owned.poolName === undefined ? {} : { name: owned.poolName }) }),
      );
      return pool;
    },
  });
}

function load(input: PostgresConfigInput, owned: OwnedPoolOptions): PostgresConfig {
  return loadConfig(owned.env ?? process.env, input);
}

function assertInstrumentedPool(pool: unknown): asserts pool is InstrumentedPool {
  if (typeof (pool as Partial<InstrumentedPool> | undefined)?.acquire !== 'function') {
    throw new TypeError(
      'createDialect({ pool }) needs a pool from createPool(); for a pg.Pool, pass its settings instead ' +
        '(createDialect({ host, database, max, … })) or keep Kysely\'s PostgresDialect',
    );
  }
}

/**
 * A dialect on an existing pool (which `db.destroy()` leaves open), with a chain validated
 * already. For `createDatabase`, which validates everything before it opens the pool.
 */
export function dialectOnPool(
  pool: InstrumentedPool,
  chain: InterceptorChain | undefined,
  logger: Logger,
  resilience: DriverResilience,
  multiplex?: ResolvedMultiplexOptions,
): Dialect {
  assertInstrumentedPool(pool);
  const source: PoolSource = Object.freeze({ owned: false, open: () => Promise.resolve(pool) });
  return new PostgresPoolDialect({ source, chain, logger, resilience, multiplex });
}

/**
 * Creates a Kysely `Dialect` for PostgreSQL, a drop-in replacement for
 * `new PostgresDialect({ pool, cursor })`: same SQL, same results and type parsing, plus the
 * interceptor chain, release-with-error and cancellation from a control connection.
 *
 * - `{ pool, interceptors?, logger? }`: runs on an existing pool, which `db.destroy()` leaves open.
 * - a `PostgresConfig`, `{ config, … }`, or plain settings (`host, port, database, user, password,
 *   max, ssl, connectionString…` as `pg.PoolConfig` names them, or `PostgresConfigInput` names):
 *   the configuration is loaded now (over `process.env`, so a `ConfigError` is thrown here) and
 *   the dialect creates its pool on first use and closes it on `db.destroy()`. A `PostgresConfig`
 *   is one `loadConfig` produced (`isLoadedConfig`); a copy of one (`{ ...config, maxConns: 20 }`)
 *   has lost its password and is rejected with a `ConfigError`: pass overrides to `loadConfig`.
 * - Interceptors are validated here (`TypeError`), before any connection is opened.
 *
 * ```ts
 * const db = new Kysely<DB>({ dialect: createDialect({ connectionString, max: 20 }) });
 * ```
 */
export function createDialect(options: CreateDialectOptions): Dialect {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createDialect needs an options object');
  }
  if (isLoadedConfig(options)) {
    return new PostgresPoolDialect({
      source: ownedPool(options, {}, silentLogger),
      chain: undefined,
      logger: silentLogger,
      resilience: resolveDriverResilience({}),
    });
  }
  const common = options as Exclude<CreateDialectOptions, PostgresConfig>;
  const { interceptors, logger = silentLogger } = common;
  const chain = InterceptorChain.of(interceptors, logger);
  const resilience = resolveDriverResilience(common);
  if (isPoolOptions(options)) {
    return dialectOnPool(options.pool, chain, logger, resilience);
  }
  if (isConfigOptions(options)) {
    const config = resolveConfig(options.config, options.env ?? process.env);
    return new PostgresPoolDialect({ source: ownedPool(config, options, logger), chain, logger, resilience });
  }
  const settings = options as SettingsDialectOptions;
  const config = load(toConfigInput(settings), settings);
  return new PostgresPoolDialect({ source: ownedPool(config, settings, logger), chain, logger, resilience });
}
