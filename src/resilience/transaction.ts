import type { Kysely, Transaction } from 'kysely';
import { describeError } from '../observability/describe-error.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { CircuitOpenError } from '../errors/circuit-open-error.js';
import { classifyError } from './classify-error.js';
import { RETRY_DEFAULTS, resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './retry-options.js';
import { RetryPolicy, type RetryEvent } from './retry-policy.js';

/** Isolation levels {@link transaction} accepts (PostgreSQL runs `read uncommitted` as `read committed`). */
export type TransactionIsolation = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** Access modes {@link transaction} accepts. */
export type TransactionAccessMode = 'read only' | 'read write';

/** Options of {@link transaction}. Every field is optional; invalid values throw a `TypeError` naming the field. */
export interface TransactionOptions {
  /** Isolation level (`start transaction isolation level …`). Default: the server's (`default_transaction_isolation`). */
  readonly isolation?: TransactionIsolation;
  /**
   * Shorthand for `accessMode: 'read only'`. `false` sets nothing (the server's default access
   * mode applies). Conflicts with an `accessMode` that says otherwise (a `TypeError`).
   */
  readonly readOnly?: boolean;
  /** Access mode. Default: the server's (`default_transaction_read_only`). */
  readonly accessMode?: TransactionAccessMode;
  /**
   * Whole-transaction retries: a {@link RetryOptions} object (its `maxAttempts` counts the first
   * attempt), a number of retries after the first attempt (`0`: none), or `false` (none).
   * Default: {@link RETRY_DEFAULTS} (3 attempts in all, 50 ms initial delay, 2 s cap, full jitter).
   */
  readonly retries?: RetryOptions | number | false;
  /**
   * Called before each retry, after it was logged, with the failed attempt and the delay before the
   * next one (`event.reason` is `'transaction'`). What it throws is ignored (and logged).
   */
  readonly onRetry?: (event: RetryEvent) => void;
  /**
   * Where retries are logged: one `warn` line per retry with `attempt`, `maxAttempts`, `delayMs`,
   * `kind` and `code` of the failure (never SQL text nor values). Default: silent.
   */
  readonly logger?: Logger;
  /**
   * Stops retrying once aborted: a failure after the abort is thrown as it is, and no new attempt
   * starts (an abort during the delay before a retry throws `signal.reason`). It does not interrupt
   * an attempt that is running, nor keep the first attempt from starting.
   */
  readonly signal?: AbortSignal;
}

const ISOLATION_LEVELS: readonly TransactionIsolation[] = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'];
const ACCESS_MODES: readonly TransactionAccessMode[] = ['read only', 'read write'];
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'isolation',
  'readOnly',
  'accessMode',
  'retries',
  'onRetry',
  'logger',
  'signal',
]);
/** Names callers may reach for out of habit (Kysely's own), with the option they meant. */
const MISTAKEN_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  isolationLevel: 'isolation',
  retry: 'retries',
  maxAttempts: 'retries: { maxAttempts }',
});

/** What {@link transaction} runs with, validated. */
interface Plan {
  readonly isolation: TransactionIsolation | undefined;
  readonly accessMode: TransactionAccessMode | undefined;
  readonly retry: ResolvedRetryOptions;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`transaction option ${field} must be one of ${allowed.map((item) => `'${item}'`).join(', ')}; got ${show(value)}`);
}

function retriesOf(value: unknown): ResolvedRetryOptions {
  if (value === undefined) return RETRY_DEFAULTS;
  if (value === false) return resolveRetryOptions(false, 'retries');
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      throw new TypeError(`transaction option retries must be an integer >= 0 (retries after the first attempt), a RetryOptions object or false; got ${show(value)}`);
    }
    return resolveRetryOptions({ maxAttempts: value + 1 }, 'retries');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`transaction option retries must be an integer >= 0, a RetryOptions object or false; got ${show(value)}`);
  }
  // names each invalid field, e.g. `retries.maxAttempts must be an integer >= 1`
  return resolveRetryOptions(value as RetryOptions, 'retries');
}

function planOf(options: TransactionOptions | undefined): Plan {
  if (options === undefined) {
    return { isolation: undefined, accessMode: undefined, retry: RETRY_DEFAULTS, onRetry: undefined, logger: silentLogger, signal: undefined };
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`transaction options must be an object; got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (KNOWN_OPTIONS.has(key)) continue;
    const meant = MISTAKEN_OPTIONS[key];
    throw new TypeError(`unknown transaction option ${key}${meant === undefined ? '' : ` (did you mean ${meant}?)`}`);
  }
  const isolation = oneOf('isolation', options.isolation, ISOLATION_LEVELS);
  let accessMode = oneOf('accessMode', options.accessMode, ACCESS_MODES);
  const readOnly: unknown = options.readOnly;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') {
    throw new TypeError(`transaction option readOnly must be a boolean; got ${show(readOnly)}`);
  }
  if (readOnly === true) {
    if (accessMode === 'read write') throw new TypeError("transaction option readOnly: true conflicts with accessMode: 'read write'");
    accessMode = 'read only';
  } else if (readOnly === false && accessMode === 'read only') {
    throw new TypeError("transaction option readOnly: false conflicts with accessMode: 'read only'");
  }
  const retry = retriesOf(options.retries);
  const onRetry: unknown = options.onRetry;
  if (onRetry !== undefined && typeof onRetry !== 'function') {
    throw new TypeError(`transaction option onRetry must be a function; got ${show(onRetry)}`);
  }
  const logger: unknown = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof (logger as Partial<Logger>).warn !== 'function')) {
    throw new TypeError('transaction option logger must be an object with a warn method (a Logger)');
  }
  const signal: unknown = options.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof (signal as Partial<AbortSignal>).aborted !== 'boolean')) {
    throw new TypeError(`transaction option signal must be an AbortSignal; got ${show(signal)}`);
  }
  return {
    isolation,
    accessMode,
    retry,
    onRetry: onRetry as ((event: RetryEvent) => void) | undefined,
    logger: (logger as Logger | undefined) ?? silentLogger,
    signal: signal as AbortSignal | undefined,
  };
}

/** Whether a 0A000 is PostgreSQL's "cached plan must not change result type" (its routine name is not translated). */
function isStalePlan(error: unknown): boolean {
  const { message, routine } = error as { message?: unknown; routine?: unknown };
  return routine === 'RevalidateCachedQuery' || (typeof message === 'string' && message.includes('cached plan must not change result type'));
}

/** Observers of the retries of {@link transaction} on one Kysely instance: `createDatabase` registers its `db`'s (metrics, `observer`). */
const retryObservers = new WeakMap<object, (event: RetryEvent) => void>();

/**
 * Makes every retry of {@link transaction} on `db` reach `observer` too (besides the call's own
 * `onRetry`). `createDatabase` calls it, so that `db_client_retries_total{reason="transaction"}`
 * and the `observer` option see transaction retries without each call wiring them. Only that
 * instance: a `db.withPlugin(…)` copy is another object.
 *
 * @internal
 */
export function observeTransactionRetries(db: object, observer: (event: RetryEvent) => void): void {
  retryObservers.set(db, observer);
}

/**
 * Runs `fn` in a database transaction and returns what it resolves to, once the transaction has
 * committed. Built on Kysely's `db.transaction().setIsolationLevel(…).setAccessMode(…).execute(fn)`:
 * `begin` (or `start transaction isolation level … read only`), `fn(trx)`, `commit`; when `fn`
 * throws, the transaction is rolled back and the error `fn` threw is rethrown.
 *
 * **Retries.** The whole transaction is run again (a new transaction, on a new connection lease,
 * after an exponential, fully jittered backoff, see {@link RetryPolicy}) when an attempt failed:
 *
 * - with a serialization failure (SQLSTATE `40001` `serialization_failure` or `40P01`
 *   `deadlock_detected`, `classifyError` kind `serialization`), wherever it happened, COMMIT
 *   included: the server rolled the attempt back;
 * - with a lost connection (`classifyError` kind `connection`: killed session, reset socket,
 *   refused connection…) *before `fn` resolved*: COMMIT was never sent, so nothing was committed.
 *
 * It is never run again after a connection failure during COMMIT (`fn` had resolved): the
 * transaction may or may not have committed, and that error is thrown for the caller to resolve.
 * Nor after any other failure (constraint, data, programming, timeout…), which is thrown at
 * once. When the attempts are spent, the last attempt's error is thrown, as it is (e.g. the
 * `pg.DatabaseError` with code `40001`).
 *
 * **Contract of `fn`:**
 *
 * - It may run several times. Everything it does through `trx` is undone with a failed attempt,
 *   but nothing else is: side effects outside the database (HTTP calls, messages, in-memory
 *   state) must be idempotent, or deferred until `transaction()` has resolved.
 * - It must run every statement through `trx`, never through `db`: a statement sent through `db`
 *   runs on another connection, outside the transaction (not rolled back with it, not isolated
 *   with it, and it can deadlock against it when the pool is small).
 * - It must not swallow database errors: a failed statement aborts the transaction, and a `fn`
 *   that resolves anyway gets Kysely's `AbortedTransactionError` at COMMIT, which is not retried.
 *
 * @param db the Kysely instance (not a `Transaction`: transactions do not nest; use savepoints).
 * @param fn the work; receives the transaction and may run several times (see above).
 * @param options isolation, access mode, retries, logging; validated before anything runs.
 * @returns what the last attempt's `fn` resolved to, after its COMMIT succeeded.
 * @throws TypeError for invalid arguments or options (naming the option), before any connection is used.
 *
 * @example
 * ```ts
 * const balance = await transaction(db, async (trx) => {
 *   const row = await trx.selectFrom('account').select('balance').where('id', '=', id).executeTakeFirstOrThrow();
 *   await trx.updateTable('account').set({ balance: row.balance - amount }).where('id', '=', id).execute();
 *   return row.balance - amount;
 * }, { isolation: 'serializable', retries: 5, logger });
 * ```
 */
export async function transaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>, options?: TransactionOptions): Promise<T> {
  if (typeof db !== 'object' || db === null || typeof (db as Partial<Kysely<DB>>).transaction !== 'function') {
    throw new TypeError('transaction: db must be a Kysely instance');
  }
  if (db.isTransaction) {
    throw new TypeError('transaction: db is already a Transaction; transactions do not nest (pass the Kysely instance, or use savepoints)');
  }
  if (typeof fn !== 'function') throw new TypeError('transaction: fn must be a function');
  const plan = planOf(options);

  let builder = db.transaction();
  if (plan.isolation !== undefined) builder = builder.setIsolationLevel(plan.isolation);
  if (plan.accessMode !== undefined) builder = builder.setAccessMode(plan.accessMode);

  // Attempts (1-based) whose `fn` resolved: a failure after that happened at COMMIT.
  const resolvedAttempts = new Set<number>();
  const run = (attempt: number): Promise<T> =>
    builder.execute(async (trx) => {
      const result = await fn(trx);
      resolvedAttempts.add(attempt);
      return result;
    });

  const shouldRetry = (error: unknown, attempt: number): boolean => {
    if (plan.signal?.aborted === true) return false;
    const { kind, code } = classifyError(error);
    if (kind === 'serialization') return true;
    // A prepared statement that went stale inside the transaction (26000 gone, 0A000 cached plan
    // must not change result type: the statement cache drops it) aborted the transaction before
    // anything could commit; the next attempt prepares it afresh.
    if (code === '26000' || (code === '0A000' && isStalePlan(error))) return true;
    // an open breaker answers for the server: repeating at once would only be refused again
    if (error instanceof CircuitOpenError) return false;
    // Before COMMIT was sent nothing can have been committed; during COMMIT the outcome is unknown.
    return kind === 'connection' && !resolvedAttempts.has(attempt);
  };

  const onRetry = (event: RetryEvent): void => {
    const { kind, code } = classifyError(event.error);
    try {
      plan.logger.warn('transaction failed and will be retried', {
        attempt: event.attempt,
        maxAttempts: event.maxAttempts,
        delayMs: Math.round(event.delayMs),
        kind,
        code,
      });
    } catch {
      // a logger that throws must not change the outcome of the transaction
    }
    const observer = retryObservers.get(db);
    if (observer !== undefined) {
      try {
        observer(event);
      } catch {
        // observers only observe
      }
    }
    if (plan.onRetry === undefined) return;
    try {
      plan.onRetry(event);
    } catch (error) {
      try {
        plan.logger.warn('transaction onRetry hook threw; the error is ignored', { error: describeError(error) });
      } catch {
        // ignored, as above
      }
    }
  };

  return new RetryPolicy(plan.retry).execute(run, { reason: 'transaction', shouldRetry, onRetry, signal: plan.signal });
}
