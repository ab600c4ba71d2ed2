import { performance } from 'node:perf_hooks';
import type { Logger } from '../observability/logger.js';
import type { HookResult, InterceptedResult, QueryInterceptor } from './interceptor.js';
import type { QueryContext, QueryContextImpl } from './query-context.js';

/** The real execution at the centre of the chain. */
export type Terminal = (ctx: QueryContextImpl) => Promise<InterceptedResult>;

type Step = (ctx: QueryContextImpl, terminal: Terminal) => Promise<InterceptedResult>;

/** The hooks that only observe: what they throw is logged and ignored. */
type ObserverHook = 'after' | 'error';

type Observer<T> = (this: QueryInterceptor, ctx: QueryContext, value: T) => HookResult;

const HOOKS = ['before', 'execute', 'after', 'error'] as const;

const innermost: Step = (ctx, terminal) => terminal(ctx);

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * A printable description of what a hook threw. Never throws: a value with no prototype
 * (`Object.create(null)`), a throwing `name`/`message`/`toString`, a symbol or a revoked proxy all
 * get some description.
 */
export function safeDescribe(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return `${String(thrown.name)}: ${String(thrown.message)}`;
    return String(thrown);
  } catch {
    try {
      return `unprintable ${Object.prototype.toString.call(thrown)}`;
    } catch {
      return 'unprintable value';
    }
  }
}

/** Default for {@link InterceptorChainOptions.warnIntervalMs}: one summary warning per hook per minute. */
export const HOOK_FAILURE_WARN_INTERVAL_MS = 60_000;

/** Tuning of the failure logging, mainly for tests. */
export interface InterceptorChainOptions {
  /** Minimum time between two warnings about the same hook of the same interceptor. */
  readonly warnIntervalMs?: number;
  /** Monotonic clock in milliseconds; read only when a hook fails. */
  readonly now?: () => number;
}

/** What is known about the failures of one observer hook of one interceptor. */
interface FailureRecord {
  /** When the last warning about this hook was logged (by the chain's clock). */
  warnedAt: number;
  /** Failures since that warning, not logged yet. */
  suppressed: number;
}

/**
 * The composed interceptors of one dialect. Built once; each statement only allocates its context
 * and one promise per interceptor, plus one closure per interceptor that has an `execute` hook. A
 * synchronous hook adds no promise of its own.
 * See {@link QueryInterceptor} for the order of the hooks.
 *
 * `before` and `execute` decide the outcome (a `before` that throws vetoes the statement). `after`
 * and `error` only observe: what they throw (or reject with) never reaches the caller, who gets
 * the original result or error. Such failures are logged with bounded volume: a warning the first
 * time for each hook of each interceptor, then at most one summary warning per hook per
 * `warnIntervalMs` (60 s by default) with the number of failures since the previous warning; the
 * failures in between are only counted. There are no timers: the clock is read on the failure
 * path only, so a summary is logged with the first failure after the interval has passed.
 */
export class InterceptorChain {
  readonly #interceptors: readonly QueryInterceptor[];
  readonly #labels: readonly string[];
  readonly #logger: Logger;
  readonly #warnIntervalMs: number;
  readonly #now: () => number;
  /** `index.hook` of the observer hooks that have failed → their failure record. */
  readonly #failures = new Map<string, FailureRecord>();
  readonly #run: Step;

  private constructor(interceptors: readonly QueryInterceptor[], logger: Logger, options: InterceptorChainOptions) {
    this.#interceptors = interceptors;
    this.#labels = Object.freeze(interceptors.map((interceptor, index) => interceptor.name ?? `interceptor #${index}`));
    this.#logger = logger;
    this.#warnIntervalMs = options.warnIntervalMs ?? HOOK_FAILURE_WARN_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#run = interceptors.reduceRight<Step>((inner, interceptor, index) => this.#wrap(interceptor, index, inner), innermost);
  }

  /**
   * The chain of `interceptors`, or `undefined` when there are none (the fast path). Throws
   * `TypeError` for an interceptor that is not an object or a hook that is not a function.
   */
  static of(
    interceptors: readonly QueryInterceptor[] | undefined,
    logger: Logger,
    options: InterceptorChainOptions = {},
  ): InterceptorChain | undefined {
    if (interceptors === undefined || interceptors === null) return undefined;
    if (!Array.isArray(interceptors)) throw new TypeError('interceptors must be an array');
    if (interceptors.length === 0) return undefined;
    for (const [index, interceptor] of interceptors.entries()) {
      if (typeof interceptor !== 'object' || interceptor === null) {
        throw new TypeError(`interceptor #${index} is not an object`);
      }
      for (const hook of HOOKS) {
        const value: unknown = (interceptor as unknown as Record<string, unknown>)[hook];
        if (value !== undefined && typeof value !== 'function') {
          throw new TypeError(`interceptor #${index}: ${hook} must be a function`);
        }
      }
    }
    const { warnIntervalMs } = options;
    if (warnIntervalMs !== undefined && !(typeof warnIntervalMs === 'number' && warnIntervalMs >= 0)) {
      throw new TypeError('warnIntervalMs must be a non-negative number');
    }
    return new InterceptorChain(Object.freeze([...interceptors]), logger, options);
  }

  /** Runs a statement through every interceptor, `terminal` at the centre. */
  execute(ctx: QueryContextImpl, terminal: Terminal): Promise<InterceptedResult> {
    return this.#run(ctx, terminal);
  }

  /**
   * Runs the `before` hooks of a stream, in order. Returns how many completed; when one throws,
   * the `error` hooks of those before it run (innermost first) and the error is rethrown.
   */
  async enterStream(ctx: QueryContextImpl): Promise<number> {
    let entered = 0;
    try {
      for (const interceptor of this.#interceptors) {
        if (interceptor.before !== undefined) {
          const pending = interceptor.before(ctx);
          if (pending !== undefined) await pending;
        }
        entered += 1;
      }
    } catch (failure) {
      await this.failStream(ctx, entered, failure);
      throw failure;
    }
    return entered;
  }

  /** Runs the `after` hooks of the first `entered` interceptors of a stream that ended well, innermost first. Never throws. */
  async completeStream(ctx: QueryContextImpl, entered: number, rowCount: number): Promise<void> {
    ctx.settle(rowCount, true);
    const result: InterceptedResult = { rows: [] };
    for (let i = entered - 1; i >= 0; i -= 1) {
      const interceptor = this.#interceptors[i];
      if (interceptor?.after === undefined) continue;
      const pending = this.#observe(interceptor.after as Observer<InterceptedResult>, interceptor, i, 'after', ctx, result);
      if (pending !== undefined) await pending;
    }
  }

  /** Runs the `error` hooks of the first `entered` interceptors of a failed stream, innermost first. Never throws. */
  failStream(ctx: QueryContextImpl, entered: number, failure: unknown): Promise<void> {
    return this.#fail(ctx, entered, failure);
  }

  /**
   * Refuses a statement before it enters the chain (its lease was released or discarded): no
   * `before`, `execute` or `after` hook runs, only the `error` hooks of every interceptor,
   * innermost first, with `failure`. Never throws; the caller then throws `failure`.
   */
  reject(ctx: QueryContextImpl, failure: unknown): Promise<void> {
    return this.#fail(ctx, this.#interceptors.length, failure);
  }

  async #fail(ctx: QueryContextImpl, entered: number, failure: unknown): Promise<void> {
    ctx.settle(undefined, false);
    for (let i = entered - 1; i >= 0; i -= 1) {
      const interceptor = this.#interceptors[i];
      if (interceptor?.error === undefined) continue;
      const pending = this.#observe(interceptor.error as Observer<unknown>, interceptor, i, 'error', ctx, failure);
      if (pending !== undefined) await pending;
    }
  }

  #wrap(interceptor: QueryInterceptor, index: number, inner: Step): Step {
    const { before, execute } = interceptor;
    const after = interceptor.after as Observer<InterceptedResult> | undefined;
    const error = interceptor.error as Observer<unknown> | undefined;
    return async (ctx, terminal) => {
      if (before !== undefined) {
        const pending = before.call(interceptor, ctx);
        if (pending !== undefined) await pending;
      }
      let result: InterceptedResult;
      try {
        result =
          execute === undefined ? await inner(ctx, terminal) : await execute.call(interceptor, ctx, () => inner(ctx, terminal));
      } catch (failure) {
        ctx.settle(undefined, false);
        if (error !== undefined) {
          const pending = this.#observe(error, interceptor, index, 'error', ctx, failure);
          if (pending !== undefined) await pending;
        }
        throw failure;
      }
      ctx.settle(result.rows.length, false);
      if (after !== undefined) {
        const pending = this.#observe(after, interceptor, index, 'after', ctx, result);
        if (pending !== undefined) await pending;
      }
      return result;
    };
  }

  /**
   * Calls an observer hook. A synchronous hook costs no promise; for an asynchronous one, returns
   * a promise that settles when it does and never rejects. What the hook throws is only logged.
   * Never throws, whatever the hook throws or returns (a `then` getter that throws included).
   */
  #observe<T>(
    hook: Observer<T>,
    interceptor: QueryInterceptor,
    index: number,
    name: ObserverHook,
    ctx: QueryContext,
    value: T,
  ): Promise<void> | undefined {
    try {
      const pending = hook.call(interceptor, ctx, value);
      if (isThenable(pending)) return this.#awaitObserver(pending, index, name, ctx);
    } catch (thrown) {
      this.#hookFailed(index, name, ctx, thrown);
    }
    return undefined;
  }

  /** Waits for an asynchronous observer hook; the promise returned is the chain's own and never rejects. */
  async #awaitObserver(pending: PromiseLike<unknown>, index: number, name: ObserverHook, ctx: QueryContext): Promise<void> {
    try {
      await pending;
    } catch (thrown) {
      this.#hookFailed(index, name, ctx, thrown);
    }
  }

  /** Counts a failure of an observer hook and logs it if its turn has come. Never throws. */
  #hookFailed(index: number, hook: ObserverHook, ctx: QueryContext, thrown: unknown): void {
    try {
      const key = `${index}.${hook}`;
      const now = this.#now();
      const record = this.#failures.get(key);
      let failures: number;
      if (record === undefined) {
        this.#failures.set(key, { warnedAt: now, suppressed: 0 });
        failures = 1;
      } else if (now - record.warnedAt >= this.#warnIntervalMs) {
        failures = record.suppressed + 1;
        record.warnedAt = now;
        record.suppressed = 0;
      } else {
        record.suppressed += 1;
        return;
      }
      const meta = {
        interceptor: this.#labels[index],
        hook,
        queryId: ctx.queryId,
        connectionId: ctx.connectionId,
        error: safeDescribe(thrown),
        failures,
      };
      if (record === undefined) {
        this.#logger.warn(
          'interceptor hook threw; ignored, the statement keeps its outcome (further failures of this hook are counted and summarised at most once per interval)',
          { ...meta, intervalMs: this.#warnIntervalMs },
        );
      } else {
        this.#logger.warn('interceptor hook keeps throwing; ignored, the statements kept their outcome (failures: since the previous warning)', meta);
      }
    } catch {
      // neither a failing clock, a failing logger nor an unprintable value may change the outcome
    }
  }
}
