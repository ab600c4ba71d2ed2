/** The instrumented connection pool: `createPool` over `pg.Pool`. */
export { CLOSE_GRACE_MS, createPool, DEFAULT_CLOSE_TIMEOUT_MS } from './create-pool.js';
export { isFatalConnectionError } from './fatal-error.js';
export { connectionLifetimeMs, type RandomSource } from './lifetime.js';
export type {
  AcquireOptions,
  CloseOptions,
  DestroyReason,
  InstrumentedPool,
  OpenClientOptions,
  PoolDependencies,
  PooledConnection,
  PoolObserver,
  PoolStats,
} from './instrumented-pool.js';
