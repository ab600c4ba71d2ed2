import type pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import type { Logger } from '../observability/logger.js';
import type { ConnectionRecord } from './connection-record.js';
import { describeError } from '../observability/describe-error.js';
import type { DestroyReason } from './instrumented-pool.js';
import { connectionLifetimeMs } from './lifetime.js';
import type { PoolCounters } from './pool-counters.js';
import { processIdOf } from './pooled-connection.js';
import type { ObserverCaller } from './safe-hooks.js';

/** What a {@link ConnectionTracker} reports to and reads from. */
export interface ConnectionTrackerOptions {
  readonly config: PostgresConfig;
  readonly poolName: string;
  readonly logger: Logger;
  readonly observer: ObserverCaller;
  readonly counters: PoolCounters;
  /** Whether the pool is closing (connections removed without a recorded reason count as `shutdown`). */
  readonly isClosing: () => boolean;
  /** Called after each removal, so that waits on the pool's state re-check. */
  readonly onChange: () => void;
}

/**
 * The registry of a pool's open connections, kept from pg.Pool's public events: a
 * {@link ConnectionRecord} is created on `connect` (id, jittered lifetime) and dropped on `remove`,
 * where the reason the pool recorded when it decided to close the connection is counted. Every
 * client gets its own `error` and `end` listeners, so that an error on a borrowed client never
 * crashes the process and marks it broken; pg.Pool's `error` event (idle clients) is always handled.
 */
export class ConnectionTracker {
  readonly #options: ConnectionTrackerOptions;
  readonly #records = new Map<pg.ClientBase, ConnectionRecord>();
  readonly #constructedAt = new WeakMap<object, number>();
  #nextId = 1;

  constructor(options: ConnectionTrackerOptions) {
    this.#options = options;
  }

  /** Open connections known to the pool. */
  get size(): number {
    return this.#records.size;
  }

  /** A snapshot of the records. */
  all(): ConnectionRecord[] {
    return [...this.#records.values()];
  }

  /** Notes when a client object was built (its connect time is measured from there). */
  constructed(client: object): void {
    this.#constructedAt.set(client, performance.now());
  }

  /** Subscribes to the pool's `connect`, `remove` and `error` events. */
  attach(pool: pg.Pool): void {
    pool.on('connect', (client) => void this.recordOf(client));
    pool.on('remove', (client) => this.#onRemoved(client));
    pool.on('error', (error, client) => this.#onIdleError(error, client));
  }

  /** The record of a client handed out by pg.Pool (registered now if its `connect` event was missed). */
  recordOf(client: pg.ClientBase): ConnectionRecord {
    return this.#records.get(client) ?? this.#register(client as pg.PoolClient);
  }

  /**
   * Closes a checked-out connection through pg.Pool (`release(true)`: pg removes the client, ends
   * it and emits `remove`). The first recorded reason wins.
   */
  destroy(record: ConnectionRecord, reason: DestroyReason): void {
    record.destroyReason ??= reason;
    record.state = 'closing';
    try {
      record.client.release(true);
    } catch (error) {
      this.#options.logger.error('pool could not close a connection', {
        pool: this.#options.poolName,
        connectionId: record.id,
        error: describeError(error),
      });
    }
  }

  #register(client: pg.PoolClient): ConnectionRecord {
    const { config, counters, observer, logger, poolName } = this.#options;
    const now = performance.now();
    const lifetimeMs = connectionLifetimeMs(config.maxConnLifetimeMs, config.maxConnLifetimeJitterMs);
    const record: ConnectionRecord = {
      id: this.#nextId++,
      client,
      openedAt: now,
      attachments: new Map<string | symbol, unknown>(),
      lifetimeMs,
      expiresAt: now + lifetimeMs,
      state: 'new',
      lastReleasedAt: now,
      broken: false,
      errorReported: false,
      destroyReason: undefined,
      leakWatch: undefined,
      borrower: undefined,
    };
    this.#records.set(client, record);
    client.on('error', (error: Error) => this.#onClientError(record, error));
    client.on('end', () => {
      record.broken = true;
    });
    counters.created();
    const connectSeconds = (now - (this.#constructedAt.get(client) ?? now)) / 1000;
    observer.emit('onConnect', { connectionId: record.id, connectSeconds });
    logger.debug('connection opened', { pool: poolName, connectionId: record.id, processId: processIdOf(client) });
    return record;
  }

  /**
   * Any client error. This permanent listener is the only one a borrowed client needs: it keeps the
   * process alive, marks the connection broken and logs one warning per connection (a dying client
   * often emits several errors, e.g. the server's `57P01` then `Connection terminated
   * unexpectedly`). Idle clients' errors are reported by the pool's `error` event
   * ({@link #onIdleError}); errors of connections the pool is closing are expected and not logged.
   */
  #onClientError(record: ConnectionRecord, error: Error): void {
    record.broken = true;
    if (record.state !== 'borrowed' || record.errorReported) return;
    record.errorReported = true;
    this.#options.logger.warn('borrowed connection failed; it will be closed when released', {
      pool: this.#options.poolName,
      connectionId: record.id,
      processId: processIdOf(record.client),
      error: describeError(error),
    });
  }

  /**
   * pg.Pool has already removed the client; this keeps the process alive, logs and counts. A
   * connection the pool was already closing (e.g. one whose backend `close()` terminated) is
   * expected to fail: that is logged at debug level and not counted as an idle error.
   */
  #onIdleError(error: Error, client: pg.PoolClient): void {
    const { counters, observer, logger, poolName, isClosing } = this.#options;
    const record = this.#records.get(client);
    if (record?.state === 'closing') {
      record.broken = true;
      logger.debug('connection being closed failed', { pool: poolName, connectionId: record.id, error: describeError(error) });
      return;
    }
    if (record) {
      record.broken = true;
      record.destroyReason ??= isClosing() ? 'shutdown' : 'error';
      record.state = 'closing';
    }
    counters.idleError();
    logger.warn('idle connection failed and was removed from the pool', {
      pool: poolName,
      connectionId: record?.id,
      error: describeError(error),
    });
    observer.emit('onIdleError', { connectionId: record?.id, error });
  }

  #onRemoved(client: pg.PoolClient): void {
    const record = this.#records.get(client);
    if (record === undefined) return;
    this.#records.delete(client);
    const { counters, observer, logger, poolName, isClosing, onChange } = this.#options;
    const reason = record.destroyReason ?? (isClosing() ? 'shutdown' : 'error');
    counters.destroyed(reason);
    observer.emit('onDestroy', { connectionId: record.id, reason });
    logger.debug('connection closed', { pool: poolName, connectionId: record.id, reason });
    onChange();
  }
}
