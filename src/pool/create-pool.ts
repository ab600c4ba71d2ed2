/**
 * `createPool`: an {@link InstrumentedPool} over `pg.Pool`, using its public API only
 * (`connect()`, `client.release(err?)`, the `connect`/`remove`/`error` events,
 * `totalCount`/`idleCount`, `end()`). This module wires the parts below into one pool.
 *
 * - **Waiting** ({@link Acquisition}, {@link PermitQueue}, {@link AcquireDeadline}). pg.Pool's
 *   `connectionTimeoutMillis` bounds both the connect and the wait in its queue, and a waiter
 *   cannot be taken out of that queue. So this pool hands out *permits*, one per connection
 *   checked out of pg.Pool (`maxConns` in all), from its own FIFO queue; with a permit,
 *   `pg.Pool.connect()` never queues: it returns an idle client or opens a new one at once
 *   ({@link ConnectionCheckout}). The wait for a permit and the connect race one deadline
 *   (`acquireTimeoutMs`, the caller's `AbortSignal`, or `close()`), while `connectTimeoutMs`
 *   (pg's `connectionTimeoutMillis`) still bounds each connect. A connection that arrives after
 *   its caller gave up goes back to the pool.
 * - **Registry** ({@link ConnectionTracker}): ids, jittered lifetimes, destroy reasons, broken
 *   clients, idle errors.
 * - **Lifetime and idle eviction.** A borrowed connection past its lifetime is closed at release;
 *   an idle one when an acquisition pulls it out of pg.Pool (another one is taken) or by the
 *   {@link Housekeeping} sweep, which also keeps `minConns` open. pg's own `idleTimeoutMillis`
 *   and `maxLifetimeSeconds` are off.
 * - **Release** ({@link ConnectionRelease}). A connection goes to the first waiting caller with
 *   its permit, or back to pg.Pool, unless it must be closed: fatal error ({@link isFatalConnectionError}), broken client, still inside a
 *   transaction (checked there only, and logged), past its lifetime, or the pool is closing.
 * - **Shutdown** ({@link Shutdown}). Borrowed connections get `timeoutMs` to come back; then their
 *   backends are terminated from one control connection outside the pool
 *   ({@link terminateBackends}) and they are destroyed. The whole close is bounded by `timeoutMs`
 *   plus {@link CLOSE_GRACE_MS}.
 * - **Shared state** ({@link PoolState}): closing or not, connections borrowed, waits on those.
 */
import pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { PoolClosedError } from '../errors/pool-closed-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { describeError } from '../observability/describe-error.js';
import { Acquisition } from './acquisition.js';
import { ConnectionCheckout } from './checkout.js';
import type { ConnectionRecord } from './connection-record.js';
import { ConnectionTracker } from './connection-tracker.js';
import { Housekeeping, type HousekeepingPool } from './housekeeping.js';
import type {
  AcquireOptions,
  CloseOptions,
  InstrumentedPool,
  OpenClientOptions,
  PoolDependencies,
  PooledConnection,
  PoolStats,
} from './instrumented-pool.js';
import { LeakDetector } from './leak-detector.js';
import { PermitQueue } from './permit-queue.js';
import { toClientConfig, toPgPoolConfig, type SslSetting } from './pg-pool-options.js';
import { PoolCounters } from './pool-counters.js';
import { PoolState } from './pool-state.js';
import { ConnectionRelease } from './release.js';
import { ObserverCaller, safeLogger } from './safe-hooks.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, Shutdown } from './shutdown.js';
import type { InternalOpenClientOptions } from './terminate-backends.js';
import { TlsFallback } from './tls-fallback-client.js';

export { CLOSE_GRACE_MS, DEFAULT_CLOSE_TIMEOUT_MS } from './shutdown.js';

class PgInstrumentedPool implements InstrumentedPool {
  readonly name: string;
  readonly config: PostgresConfig;
  readonly #pg: pg.Pool;
  readonly #tls: TlsFallback;
  readonly #logger: Logger;
  readonly #counters = new PoolCounters();
  readonly #state = new PoolState();
  readonly #leaks: LeakDetector;
  readonly #housekeeping: Housekeeping;
  readonly #acquisition: Acquisition;
  readonly #shutdown: Shutdown;
  #closing: Promise<void> | undefined;

  constructor(config: PostgresConfig, deps: PoolDependencies) {
    this.name = deps.name ?? 'default';
    this.config = config;
    const poolName = this.name;
    const logger = safeLogger(deps.logger ?? silentLogger);
    this.#logger = logger;
    const observer = new ObserverCaller(deps.observer, logger, poolName);
    const counters = this.#counters;
    const state = this.#state;
    this.#leaks = new LeakDetector({ thresholdMs: config.leakDetectionThresholdMs, poolName, logger, counters, observer });
    const permits = new PermitQueue(config.maxConns);
    const tracker = new ConnectionTracker({
      config,
      poolName,
      logger,
      observer,
      counters,
      isClosing: () => state.closed,
      onChange: () => state.changes.notify(),
    });
    this.#tls = new TlsFallback(
      config,
      (client) => tracker.constructed(client),
      (refusal) =>
        logger.debug('server refused the first TLS choice of sslmode; connecting again with the fallback', {
          pool: poolName,
          sslMode: config.sslMode,
          error: describeError(refusal),
        }),
    );
    const options = toPgPoolConfig(config, this.#tls.first);
    options.Client = this.#tls.Client;
    const onConnect = deps.onConnect;
    if (onConnect) options.onConnect = (client) => onConnect(client as pg.PoolClient);
    const pgPool = new pg.Pool(options);
    this.#pg = pgPool;
    tracker.attach(pgPool);
    const checkout = new ConnectionCheckout({ pg: pgPool, tls: this.#tls, tracker, permits, counters, state, logger, poolName });
    const checkOutSpare = (count: number, decide: (held: readonly ConnectionRecord[]) => void): Promise<unknown[]> =>
      checkout.checkOutSpare(count, decide);
    const host: HousekeepingPool = {
      get closed() {
        return state.closed;
      },
      get totalCount() {
        return pgPool.totalCount;
      },
      get idleCount() {
        return pgPool.idleCount;
      },
      checkOutSpare,
    };
    this.#housekeeping = new Housekeeping({ config, poolName, logger, tracker, pool: host });
    this.#acquisition = new Acquisition({
      config,
      poolName,
      pg: pgPool,
      permits,
      checkout,
      releaseTarget: new ConnectionRelease({ tracker, permits, state, observer, logger, poolName }),
      leaks: this.#leaks,
      state,
      counters,
      observer,
      logger,
    });
    this.#shutdown = new Shutdown({
      config,
      poolName,
      logger,
      openClient: (clientOptions) => this.#openClient(clientOptions),
      pg: pgPool,
      housekeeping: this.#housekeeping,
      acquisition: this.#acquisition,
      tracker,
      permits,
      state,
    });
  }

  get connectionOptions(): Readonly<pg.ClientConfig> {
    return toClientConfig(this.config, this.#tls.first);
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  get waiting(): number {
    return this.#acquisition.waiting;
  }

  /** Starts housekeeping and the background warm-up. */
  start(): void {
    this.#housekeeping.start();
  }

  async openClient(options: OpenClientOptions = {}): Promise<pg.Client> {
    if (this.#state.closed) throw new PoolClosedError(this.name);
    return this.#openClient(options);
  }

  /** {@link openClient} without the closed check: `close()` opens its control connection with it. */
  #openClient(options: InternalOpenClientOptions): Promise<pg.Client> {
    let ssl: SslSetting | undefined;
    if (options.like !== undefined) {
      // Only the pool's own connections: another client's TLS setting (plaintext, unverified) could
      // send this pool's password where its sslmode forbids it.
      ssl = this.#tls.choiceOf(options.like);
      if (ssl === undefined) throw new TypeError("openClient({ like }) takes a connection of this pool only (a PooledConnection's client)");
    }
    const optionsFor = (setting: SslSetting): pg.ClientConfig => {
      const clientOptions = toClientConfig(this.config, setting);
      if (options.applicationName !== undefined) clientOptions.application_name = options.applicationName;
      if (options.connectTimeoutMs !== undefined) clientOptions.connectionTimeoutMillis = options.connectTimeoutMs;
      return clientOptions;
    };
    // The listener is attached before connecting: the client can never emit an unhandled 'error'.
    const prepare = (client: pg.Client): void => {
      client.on('error', (error: Error) =>
        this.#logger.debug('standalone connection failed', { pool: this.name, error: describeError(error) }),
      );
    };
    return this.#tls.connectClient(optionsFor, prepare, ssl);
  }

  warmUp(): Promise<void> {
    return this.#housekeeping.warmUp();
  }

  acquire(options?: AcquireOptions): Promise<PooledConnection> {
    // The leak detector's stack and the start of the wait are taken here, in the caller's frame's
    // direct callee, so the stack keeps as many of the caller's frames as it can.
    return this.#acquisition.acquire(options, this.#leaks.captureOrigin(), performance.now());
  }

  async query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    parameters?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const connection = await this.acquire();
    let result: pg.QueryResult<R>;
    try {
      // pg reads the values without changing them: no copy.
      result = await connection.client.query<R>(sql, parameters as unknown[] | undefined);
    } catch (error) {
      connection.release(error);
      throw error;
    }
    connection.release();
    return result;
  }

  stats(): PoolStats {
    return this.#counters.snapshot({
      total: this.#pg.totalCount,
      idle: this.#pg.idleCount,
      active: this.#state.borrowed,
      waiting: this.#acquisition.waiting,
      max: this.config.maxConns,
      min: this.config.minConns,
    });
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown.run(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.#closing;
  }
}

/**
 * Creates an {@link InstrumentedPool} from a validated configuration. The pool starts opening
 * `minConns` connections in the background (failures are logged and counted; await
 * {@link InstrumentedPool.warmUp} to wait for them) and runs its housekeeping (idle eviction,
 * lifetime, minimum connections) every `healthCheckPeriodMs` on an `unref()`ed timer.
 *
 * @throws {ConfigError} when a TLS certificate or key file named by the configuration cannot be read
 */
export function createPool(config: PostgresConfig, deps: PoolDependencies = {}): InstrumentedPool {
  const pool = new PgInstrumentedPool(config, deps);
  pool.start();
  return pool;
}
