import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
} from 'kysely';
import type { Logger } from '../observability/logger.js';
import { PostgresPoolDriver, type DriverResilience, type PoolSource } from './driver.js';
import type { InterceptorChain } from './interceptor-chain.js';
import type { ResolvedMultiplexOptions } from './multiplex/multiplex-options.js';

/** What a {@link PostgresPoolDialect} is made of; see `createDialect`. */
export interface PostgresPoolDialectParts {
  readonly source: PoolSource;
  readonly chain: InterceptorChain | undefined;
  readonly logger: Logger;
  readonly resilience: DriverResilience;
  /** Multiplexed execution settings (only used through `multiplexedKysely`), or `undefined`. */
  readonly multiplex?: ResolvedMultiplexOptions | undefined;
}

/**
 * A Kysely `Dialect` for PostgreSQL over an instrumented pool: Kysely's own Postgres query
 * compiler, adapter and introspector, with this library's driver (interceptor chain, release with
 * error, cancellation from a control connection). Build it with `createDialect`.
 */
export class PostgresPoolDialect implements Dialect {
  readonly #parts: PostgresPoolDialectParts;

  /** @internal Use `createDialect`. */
  constructor(parts: PostgresPoolDialectParts) {
    this.#parts = Object.freeze({ ...parts });
  }

  createDriver(): Driver {
    return new PostgresPoolDriver(this.#parts);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
