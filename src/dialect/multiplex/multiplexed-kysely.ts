import {
  Kysely,
  Log,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type KyselyConfig,
  type KyselyProps,
  type QueryResult,
} from 'kysely';
import { performance } from 'node:perf_hooks';
import { PostgresPoolDriver } from '../driver.js';
import { MultiplexingQueryExecutor } from './multiplexing-executor.js';

/**
 * The connection object the shared path hands to Kysely's executor: stateless, one per database.
 * With Kysely's `log` option, it logs like Kysely's runtime driver logs its connections.
 */
function sharedConnectionOf(driver: PostgresPoolDriver, log: Log): DatabaseConnection {
  const logged = log.isLevelEnabled('query') || log.isLevelEnabled('error');
  const executeQuery = logged
    ? async <R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> => {
        const started = performance.now();
        try {
          const result = await driver.executeShared<R>(compiledQuery);
          await log.query(() => ({ level: 'query', isStream: false, query: compiledQuery, queryDurationMillis: performance.now() - started }));
          return result;
        } catch (error) {
          await log.error(() => ({ level: 'error', error, query: compiledQuery, queryDurationMillis: performance.now() - started }));
          throw error;
        }
      }
    : <R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> => driver.executeShared<R>(compiledQuery);
  return Object.freeze({
    executeQuery,
    streamQuery: (): AsyncIterableIterator<never> => {
      throw new Error('streams never run on a shared connection');
    },
  });
}

/**
 * A `Kysely<DB>` whose single statements may be multiplexed (see {@link MultiplexingQueryExecutor}).
 * Kysely itself is built as usual over `dialect` (its runtime driver, logging and plugins); its
 * executor is then wrapped, and a second instance is made from the same parts with the wrapped
 * executor, through Kysely's public `KyselyProps` constructor. `destroy()` destroys the driver
 * once, whichever path initialized it.
 *
 * @param poolDialect this library's dialect, configured with `multiplex`
 * @returns the Kysely instance and its driver (for its multiplexing stats)
 */
export function multiplexedKysely<DB>(poolDialect: Dialect, config: Omit<KyselyConfig, 'dialect'>): { readonly db: Kysely<DB>; readonly driver: PostgresPoolDriver } {
  const driver = poolDialect.createDriver();
  if (!(driver instanceof PostgresPoolDriver)) throw new TypeError('multiplexing needs the dialect of this library');
  // one driver for both Kysely instances
  const dialect: Dialect = Object.freeze({
    createDriver: () => driver,
    createQueryCompiler: () => poolDialect.createQueryCompiler(),
    createAdapter: () => poolDialect.createAdapter(),
    createIntrospector: (db: Kysely<unknown>) => poolDialect.createIntrospector(db),
  });
  const base = new Kysely<DB>({ ...config, dialect });
  const executor = new MultiplexingQueryExecutor(
    base.getExecutor(),
    dialect.createQueryCompiler(),
    driver,
    sharedConnectionOf(driver, new Log(config.log ?? [])),
  );
  // Transactions and savepoints get connections from the executor (Kysely's runtime driver), then
  // call these, which the runtime driver only forwards.
  const facade: Driver = Object.freeze({
    init: () => driver.init(),
    acquireConnection: () => driver.acquireConnection(),
    beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
    commitTransaction: (connection) => driver.commitTransaction(connection),
    rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
    savepoint: (connection, name, compileQuery) => driver.savepoint(connection, name, compileQuery),
    rollbackToSavepoint: (connection, name, compileQuery) => driver.rollbackToSavepoint(connection, name, compileQuery),
    releaseSavepoint: (connection, name, compileQuery) => driver.releaseSavepoint(connection, name, compileQuery),
    releaseConnection: (connection) => driver.releaseConnection(connection),
    destroy: async () => {
      try {
        await base.destroy();
      } finally {
        await driver.destroy();
      }
    },
  } satisfies Driver);
  const props: KyselyProps = Object.freeze({ config: { ...config, dialect }, dialect, driver: facade, executor });
  return Object.freeze({ db: new Kysely<DB>(props), driver });
}
