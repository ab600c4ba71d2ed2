/**
 * `createPool`: an {@link InstrumentedPool} over `pg.Pool`, using its public API only
 * (`connect()`, `client.release(err?)`, the `connect`/`remove`/`error` events,
 * `totalCount`/`idleCount`, `end()`).
 *
 * - **Waiting** ({@link PermitQueue}, {@link AcquireDeadline}). pg.Pool's `connectionTimeoutMillis`
 *   bounds both the connect and the wait in its queue, and a waiter cannot be taken out of that
 *   queue. So this pool hands out *permits*, one per connection checked out of pg.Pool
 *   (`maxConns` in all), from its own FIFO queue; with a permit, `pg.Pool.connect()` never
 *   queues: it returns an idle client or opens a new one at once. The wait for a permit and the
 *   connect race one deadline (`acquireTimeoutMs`, the caller's `AbortSignal`, or `close()`),
 *   while `connectTimeoutMs` (pg's `connectionTimeoutMillis`) still bounds each connect. A
 *   connection that arrives after its caller gave up goes back to the pool.
 * - **Registry** ({@link ConnectionTracker}): ids, jittered lifetimes, destroy reasons, broken
 *   clients, idle errors.
 * - **Lifetime and idle eviction.** A borrowed connection past its lifetime is closed at release;
 *   an idle one when an acquisition pulls it out of pg.Pool (another one is taken) or by the
 *   {@link Housekeeping} sweep, which also keeps `minConns` open. pg's own `idleTimeoutMillis`
 *   and `maxLifetimeSeconds` are off.
 * - **Release.** A connection goes back to pg.Pool unless it must be closed: fatal error
 *   ({@link isFatalConnectionError}), broken client, still inside a transaction (checked here
 *   only, and logged), past its lifetime, or the pool is closing.
 * - **Shutdown.** Borrowed connections get `timeoutMs` to come back; then their backends are
 *   terminated from one control connection outside the pool and they are destroyed. The whole
 *   close is bounded by `timeoutMs` plus {@link CLOSE_GRACE_MS}.
 */
import pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { AcquireTimeoutError } from '../errors/acquire-timeout-error.js';
import { PoolClosedError } from '../errors/pool-closed-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { AcquireDeadline, type DeadlineOutcome } from './acquire-deadline.js';
import { ConditionWaiter, timerDelay } from './condition-waiter.js';
import type { ConnectionRecord } from './connection-record.js';
import { ConnectionTracker } from './connection-tracker.js';
import { describeError } from '../observability/describe-error.js';
import { isFatalConnectionError } from './fatal-error.js';
import { Housekeeping, type HousekeepingPool } from './housekeeping.js';
import type {
  AcquireOptions,
  CloseOptions,
  DestroyReason,
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
import { BorrowedConnection, processIdOf, type ReleaseTarget } from './pooled-connection.js';
import { ObserverCaller, safeLogger } from './safe-hooks.js';
import { TlsFallback } from './tls-fallback-client.js';

/** Default of {@link CloseOptions.timeoutMs}. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * How long `close()` may take beyond its `timeoutMs`: for terminating the backends of connections
 * still borrowed (one control connection and one statement), then for `pg.Pool.end()` and the last
 * sockets to close. `close()` resolves at the latest this long after its `timeoutMs`.
 */
export const CLOSE_GRACE_MS = 2_000;

/** `openClient` options, plus what `close()` needs for its control connection. */
interface InternalOpenClientOptions extends OpenClientOptions {
  /** Replaces `connectTimeoutMs` for this client. */
  readonly connectTimeoutMs?: number;
}

/** Resolves `true` once `work` settles (either way), or `false` after `ms`. */
function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timerDelay(ms));
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(done, done);
  });
}

class PgInstrumentedPool implements InstrumentedPool {
  readonly name: string;
  readonly config: PostgresConfig;
  readonly #pg: pg.Pool;
  readonly #tls: TlsFallback;
  readonly #logger: Logger;
  readonly #observer: ObserverCaller;
  readonly #counters = new PoolCounters();
  readonly #leaks: LeakDetector;
  readonly #permits: PermitQueue;
  readonly #tracker: ConnectionTracker;
  readonly #housekeeping: Housekeeping;
  readonly #pending = new Set<AcquireDeadline>();
  readonly #changes = new ConditionWaiter();
  /** Built once: per-acquisition code passes these instead of allocating closures. */
  readonly #releaseTarget: ReleaseTarget = {
    releaseBorrowed: (record, acquiredAt, error) => this.#release(record, acquiredAt, error),
  };
  readonly #makeTimeoutError = (): AcquireTimeoutError => this.#timeoutError();
  readonly #connectPg = (): Promise<pg.PoolClient> => this.#pg.connect();
  readonly #connectFailed = (error: unknown): never => {
    if (!this.#closed) {
      this.#counters.connectFailed();
      this.#logger.debug('could not open a connection', { pool: this.name, error: describeError(error) });
    }
    throw error;
  };
  #borrowed = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(config: PostgresConfig, deps: PoolDependencies) {
    this.name = deps.name ?? 'default';
    this.config = config;
    this.#logger = safeLogger(deps.logger ?? silentLogger);
    this.#observer = new ObserverCaller(deps.observer, this.#logger, this.name);
    this.#leaks = new LeakDetector({
      thresholdMs: config.leakDetectionThresholdMs,
      poolName: this.name,
      logger: this.#logger,
      counters: this.#counters,
      observer: this.#observer,
    });
    this.#permits = new PermitQueue(config.maxConns);
    this.#tracker = new ConnectionTracker({
      config,
      poolName: this.name,
      logger: this.#logger,
      observer: this.#observer,
      counters: this.#counters,
      isClosing: () => this.#closed,
      onChange: () => this.#changes.notify(),
    });
    this.#tls = new TlsFallback(
      config,
      (client) => this.#tracker.constructed(client),
      (refusal) =>
        this.#logger.debug('server refused the first TLS choice of sslmode; connecting again with the fallback', {
          pool: this.name,
          sslMode: config.sslMode,
          error: describeError(refusal),
        }),
    );
    const options = toPgPoolConfig(config, this.#tls.first);
    options.Client = this.#tls.Client;
    const onConnect = deps.onConnect;
    if (onConnect) options.onConnect = (client) => onConnect(client as pg.PoolClient);
    this.#pg = new pg.Pool(options);
    this.#tracker.attach(this.#pg);
    const pgPool = this.#pg;
    const isClosed = (): boolean => this.#closed;
    const checkOutSpare = (count: number, decide: (held: readonly ConnectionRecord[]) => void): Promise<unknown[]> =>
      this.#checkOutSpare(count, decide);
    const host: HousekeepingPool = {
      get closed() {
        return isClosed();
      },
      get totalCount() {
        return pgPool.totalCount;
      },
      get idleCount() {
        return pgPool.idleCount;
      },
      checkOutSpare,
    };
    this.#housekeeping = new Housekeeping({ config, poolName: this.name, logger: this.#logger, tracker: this.#tracker, pool: host });
  }

  get connectionOptions(): Readonly<pg.ClientConfig> {
    return toClientConfig(this.config, this.#tls.first);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts housekeeping and the background warm-up. */
  start(): void {
    this.#housekeeping.start();
  }

  async openClient(options: OpenClientOptions = {}): Promise<pg.Client> {
    if (this.#closed) throw new PoolClosedError(this.name);
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

  // ---- acquisition ------------------------------------------------------------------------

  async acquire(options?: AcquireOptions): Promise<PooledConnection> {
    const origin = this.#leaks.captureOrigin();
    const started = performance.now();
    if (this.#closed) {
      this.#acquireFailed('closed', started);
      throw new PoolClosedError(this.name);
    }
    const signal = options?.signal;
    if (signal?.aborted) {
      this.#acquireFailed('canceled', started);
      throw signal.reason;
    }
    const deadline = new AcquireDeadline(this.config.acquireTimeoutMs, signal, this.#makeTimeoutError);
    this.#pending.add(deadline);
    let holdsPermit = false;
    try {
      let empty = false;
      if (this.#permits.tryTake()) {
        holdsPermit = true;
      } else {
        empty = true;
        const request = this.#permits.request();
        try {
          await deadline.race(request.granted);
        } catch (error) {
          if (!request.cancel()) this.#permits.release(); // granted just as the wait ended
          throw error;
        }
        holdsPermit = true;
      }
      if (this.#pg.idleCount === 0) empty = true;
      const checkout = this.#checkoutForCaller();
      let record: ConnectionRecord;
      try {
        record = await deadline.race(checkout);
      } catch (error) {
        if (deadline.outcome !== undefined) {
          // The caller is gone; if the connection still comes, it goes back to the pool.
          holdsPermit = false;
          checkout
            .then(
              (late) => this.#returnUnused(late),
              () => this.#permits.release(),
            )
            .catch((lateError: unknown) =>
              this.#logger.error('pool could not take back a connection that arrived after its caller left', {
                pool: this.name,
                error: describeError(lateError),
              }),
            );
        }
        throw error;
      }
      holdsPermit = false; // the permit now belongs to the borrowed connection
      return this.#handOut(record, started, empty, origin);
    } catch (error) {
      if (holdsPermit) this.#permits.release();
      this.#acquireFailed(deadline.outcome ?? 'error', started);
      throw error;
    } finally {
      deadline.dispose();
      this.#pending.delete(deadline);
      this.#changes.notify();
    }
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

  /**
   * One `pg.Pool.connect()`, with the TLS fallback when the `sslmode` has one (otherwise pg.Pool's
   * promise directly); counts failed connects.
   */
  #checkout(): Promise<pg.PoolClient> {
    const connecting = this.#tls.hasFallback ? this.#tls.connect(this.#connectPg) : this.#pg.connect();
    return connecting.catch(this.#connectFailed);
  }

  /** A checkout for a caller: idle connections found broken or expired are closed and replaced. */
  async #checkoutForCaller(): Promise<ConnectionRecord> {
    for (;;) {
      const record = this.#tracker.recordOf(await this.#checkout());
      if (record.state === 'new') return record;
      if (record.broken) this.#tracker.destroy(record, 'error');
      else if (performance.now() >= record.expiresAt) this.#tracker.destroy(record, 'lifetime');
      else return record;
    }
  }

  #handOut(record: ConnectionRecord, started: number, empty: boolean, origin: Error | undefined): PooledConnection {
    const now = performance.now();
    const waitSeconds = (now - started) / 1000;
    const connection = new BorrowedConnection(record, now, this.#releaseTarget);
    record.state = 'borrowed';
    record.borrower = connection;
    record.leakWatch = this.#leaks.watch(record.id, now, origin);
    this.#borrowed += 1;
    this.#counters.acquired(waitSeconds, empty);
    if (this.#observer.wants('onAcquire')) {
      this.#observer.emit('onAcquire', { connectionId: record.id, waitSeconds, waited: empty });
    }
    return connection;
  }

  #acquireFailed(reason: DeadlineOutcome | 'error', started: number): void {
    this.#counters.acquireFailed(reason);
    if (this.#observer.wants('onAcquireFailed')) {
      this.#observer.emit('onAcquireFailed', { reason, waitSeconds: (performance.now() - started) / 1000 });
    }
  }

  #timeoutError(): AcquireTimeoutError {
    return new AcquireTimeoutError({
      poolName: this.name,
      timeoutMs: this.config.acquireTimeoutMs,
      max: this.config.maxConns,
      total: this.#pg.totalCount,
      active: this.#borrowed,
      idle: this.#pg.idleCount,
      waiting: this.#pending.size,
    });
  }

  // ---- release ----------------------------------------------------------------------------

  #release(record: ConnectionRecord, acquiredAt: number, error: unknown): void {
    const now = performance.now();
    record.leakWatch?.stop();
    record.leakWatch = undefined;
    record.borrower = undefined;
    this.#borrowed -= 1;
    if (this.#observer.wants('onRelease')) {
      this.#observer.emit('onRelease', { connectionId: record.id, heldSeconds: (now - acquiredAt) / 1000 });
    }
    const reason = this.#releaseVerdict(record, error, now);
    if (reason === undefined) {
      record.state = 'idle';
      record.lastReleasedAt = now;
      record.client.release();
    } else {
      this.#tracker.destroy(record, reason);
    }
    this.#permits.release();
    this.#changes.notify();
  }

  /** Why a connection coming back from a caller at `now` must be closed, or `undefined` to keep it. */
  #releaseVerdict(record: ConnectionRecord, error: unknown, now: number): DestroyReason | undefined {
    const failed = this.#closed ? 'shutdown' : 'error';
    if (record.broken || (error !== undefined && isFatalConnectionError(error))) return failed;
    if (this.#releasedInTransaction(record)) return failed;
    if (this.#closed) return 'shutdown';
    if (now >= record.expiresAt) return 'lifetime';
    return undefined;
  }

  /**
   * Whether a healthy connection came back inside a transaction (`BEGIN` without `COMMIT` or
   * `ROLLBACK`, or a failed transaction). The pool is the one place that checks this (the dialect
   * relies on it), so the warning here is the only report the caller gets.
   */
  #releasedInTransaction(record: ConnectionRecord): boolean {
    const status = record.client.getTransactionStatus();
    if (status !== 'T' && status !== 'E') return false;
    this.#logger.warn('connection released inside a transaction; closing it (the server rolls the transaction back)', {
      pool: this.name,
      connectionId: record.id,
      processId: processIdOf(record.client),
      transaction: status === 'E' ? 'failed' : 'open',
    });
    return true;
  }

  /**
   * Gives back a connection checked out by housekeeping, or for a caller who left, and frees its
   * permit. Its idle clock is not reset (the sweep and the warm-up do not count as use).
   */
  #returnUnused(record: ConnectionRecord): void {
    if (this.#closed) this.#tracker.destroy(record, 'shutdown');
    else if (record.broken) this.#tracker.destroy(record, 'error');
    else {
      record.state = 'idle';
      record.client.release();
    }
    this.#permits.release();
    this.#changes.notify();
  }

  /** See {@link HousekeepingPool.checkOutSpare}. */
  async #checkOutSpare(count: number, decide: (held: readonly ConnectionRecord[]) => void): Promise<unknown[]> {
    let permits = 0;
    while (permits < count && this.#permits.tryTake()) permits += 1;
    if (permits === 0) return [];
    const checkouts: Promise<pg.PoolClient>[] = [];
    for (let i = 0; i < permits; i += 1) checkouts.push(this.#checkout());
    const results = await Promise.allSettled(checkouts);
    const held: ConnectionRecord[] = [];
    const failures: unknown[] = [];
    for (const result of results) {
      if (result.status === 'fulfilled') {
        const record = this.#tracker.recordOf(result.value);
        record.state = 'housekeeping';
        held.push(record);
      } else {
        failures.push(result.reason);
        this.#permits.release();
      }
    }
    if (!this.#closed) {
      try {
        decide(held);
      } catch (error) {
        // Whatever happened, every connection held here goes back below.
        this.#logger.error('pool housekeeping failed', { pool: this.name, error: describeError(error) });
      }
    }
    // pg.Pool handed out its idle list from the top: giving back in reverse keeps its order.
    for (const record of held.reverse()) {
      if (record.state === 'closing') this.#permits.release();
      else this.#returnUnused(record);
    }
    this.#changes.notify();
    return failures;
  }

  // ---- stats and shutdown -------------------------------------------------------------------

  stats(): PoolStats {
    return this.#counters.snapshot({
      total: this.#pg.totalCount,
      idle: this.#pg.idleCount,
      active: this.#borrowed,
      waiting: this.#pending.size,
      max: this.config.maxConns,
      min: this.config.minConns,
    });
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    const waitMs = timerDelay(timeoutMs);
    const hardDeadline = performance.now() + waitMs + CLOSE_GRACE_MS;
    this.#closed = true;
    this.#housekeeping.stop();
    for (const deadline of [...this.#pending]) deadline.expire('closed', new PoolClosedError(this.name));
    for (const record of this.#tracker.all()) {
      if (record.state === 'idle') record.destroyReason ??= 'shutdown';
    }
    // Idle connections close now; borrowed ones as they come back (#releaseVerdict: 'shutdown').
    const ended = this.#pg.end().catch((error: unknown) =>
      this.#logger.error('pg.Pool.end() failed', { pool: this.name, error: describeError(error) }),
    );
    const returned = await this.#changes.until(() => this.#borrowed === 0, waitMs);
    if (!returned) await this.#reclaimBorrowed(timeoutMs, hardDeadline);
    // pg.Pool.end() waits for every client, including one still connecting (which, with
    // connectTimeoutMs 0, may never finish): the close does not wait for it past its bound.
    if (!(await settlesWithin(ended, hardDeadline - performance.now()))) {
      this.#logger.warn('pool did not finish closing within the close timeout; connections still opening or closing are left to finish', {
        pool: this.name,
        timeoutMs,
        graceMs: CLOSE_GRACE_MS,
        total: this.#pg.totalCount,
      });
      return;
    }
    const removed = await this.#changes.until(() => this.#tracker.size === 0, hardDeadline - performance.now());
    if (!removed) {
      this.#logger.debug('some sockets had not closed when close() returned', { pool: this.name, open: this.#tracker.size });
    }
  }

  /**
   * `close()` timed out with connections still borrowed: revokes their handles, terminates their
   * backends (so that their statements stop on the server), then destroys them.
   */
  async #reclaimBorrowed(timeoutMs: number, hardDeadline: number): Promise<void> {
    const stranded: ConnectionRecord[] = [];
    for (const record of this.#tracker.all()) {
      if (record.state !== 'borrowed' || record.borrower?.revoke() !== true) continue;
      this.#logger.warn('connection not released before the close timeout; terminating its backend and closing it', {
        pool: this.name,
        connectionId: record.id,
        processId: processIdOf(record.client),
        timeoutMs,
      });
      record.leakWatch?.cancel(); // taken back, not returned: no "leak returned" report
      record.leakWatch = undefined;
      record.borrower = undefined;
      // Not 'borrowed' any more: the errors its termination causes are expected, not warned about.
      record.state = 'closing';
      record.destroyReason ??= 'shutdown';
      this.#borrowed -= 1;
      stranded.push(record);
    }
    if (stranded.length === 0) return;
    await this.#terminateBackends(stranded, hardDeadline);
    for (const record of stranded) {
      this.#tracker.destroy(record, 'shutdown');
      this.#permits.release();
    }
    this.#changes.notify();
  }

  /**
   * `pg_terminate_backend` for each connection in `records`, from one control connection outside
   * the pool (the pool's settings, the TLS setting of the first connection: one attempt). Bounded
   * by `hardDeadline`; a failure is logged, never thrown.
   */
  async #terminateBackends(records: readonly ConnectionRecord[], hardDeadline: number): Promise<void> {
    const processIds = records.map((record) => processIdOf(record.client)).filter((pid) => pid !== undefined);
    const like = records[0]?.client;
    if (processIds.length === 0 || like === undefined) return;
    const budgetMs = Math.max(1, Math.ceil(hardDeadline - performance.now()));
    const { connectTimeoutMs } = this.config;
    let control: pg.Client | undefined;
    let controlEnded = false;
    const endControl = (): void => {
      if (control === undefined || controlEnded) return;
      controlEnded = true;
      control.end().catch(() => undefined);
    };
    const work = (async () => {
      control = await this.#openClient({
        applicationName: `${this.config.applicationName} (close)`,
        like,
        connectTimeoutMs: connectTimeoutMs > 0 ? Math.min(connectTimeoutMs, budgetMs) : budgetMs,
      });
      const { rows } = await control.query<{ pid: number; terminated: boolean }>(
        'select pid, pg_terminate_backend(pid) as terminated from unnest($1::int[]) as pid',
        [processIds],
      );
      return rows;
    })();
    let failure: unknown;
    let rows: { pid: number; terminated: boolean }[] | undefined;
    work.then(
      (result) => {
        rows = result;
      },
      (error: unknown) => {
        failure = error;
      },
    );
    const settled = await settlesWithin(work, budgetMs);
    endControl(); // also stops a statement still waiting for its answer
    work.then(endControl, endControl); // a control connection that arrives late is ended too
    if (rows !== undefined) {
      const missed = rows.filter((row) => !row.terminated).map((row) => row.pid);
      this.#logger.debug('terminated the backends of connections not released before the close timeout', {
        pool: this.name,
        processIds,
      });
      if (missed.length > 0) {
        this.#logger.warn('some backends were already gone or could not be terminated', { pool: this.name, processIds: missed });
      }
      return;
    }
    this.#logger.warn('could not terminate the backends of connections not released before the close timeout; their statements may go on running on the server', {
      pool: this.name,
      processIds,
      error: settled ? describeError(failure) : { message: `timed out after ${budgetMs} ms` },
    });
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
