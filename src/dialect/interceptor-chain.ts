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

function describe(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
}

/**
 * The composed interceptors of one dialect. Built once; each statement only allocates its context
 * and one promise per interceptor, plus one closure per interceptor that has an `execute` hook. A
 * synchronous hook adds no promise of its own.
 * See {@link QueryInterceptor} for the order of the hooks.
 *
 * `before` and `execute` decide the outcome (a `before` that throws vetoes the statement). `after`
 * and `error` only observe: what they throw (or reject with) is logged, a warning the first time
 * per hook of each interceptor and at debug level afterwards, and the caller gets the original
 * result or error.
 */
export class InterceptorChain {
  readonly #interceptors: readonly QueryInterceptor[];
  readonly #labels: readonly string[];
  readonly #logger: Logger;
  /** `index.hook` of the observer hooks whose failure has been warned about. */
  readonly #reported = new Set<string>();
  readonly #run: Step;

  private constructor(interceptors: readonly QueryInterceptor[], logger: Logger) {
    this.#interceptors = interceptors;
    this.#labels = Object.freeze(interceptors.map((interceptor, index) => interceptor.name ?? `interceptor #${index}`));
    this.#logger = logger;
    this.#run = interceptors.reduceRight<Step>((inner, interceptor, index) => this.#wrap(interceptor, index, inner), innermost);
  }

  /**
   * The chain of `interceptors`, or `undefined` when there are none (the fast path). Throws
   * `TypeError` for an interceptor that is not an object or a hook that is not a function.
   */
  static of(interceptors: readonly QueryInterceptor[] | undefined, logger: Logger): InterceptorChain | undefined {
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
    return new InterceptorChain(Object.freeze([...interceptors]), logger);
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
  async failStream(ctx: QueryContextImpl, entered: number, failure: unknown): Promise<void> {
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
   */
  #observe<T>(
    hook: Observer<T>,
    interceptor: QueryInterceptor,
    index: number,
    name: ObserverHook,
    ctx: QueryContext,
    value: T,
  ): Promise<void> | undefined {
    let pending: unknown;
    try {
      pending = hook.call(interceptor, ctx, value);
    } catch (thrown) {
      this.#hookFailed(index, name, ctx, thrown);
      return undefined;
    }
    if (!isThenable(pending)) return undefined;
    return Promise.resolve(pending).then(
      () => undefined,
      (thrown: unknown) => this.#hookFailed(index, name, ctx, thrown),
    );
  }

  #hookFailed(index: number, hook: ObserverHook, ctx: QueryContext, thrown: unknown): void {
    const key = `${index}.${hook}`;
    const first = !this.#reported.has(key);
    if (first) this.#reported.add(key);
    const meta = {
      interceptor: this.#labels[index],
      hook,
      queryId: ctx.queryId,
      connectionId: ctx.connectionId,
      error: describe(thrown),
    };
    try {
      if (first) {
        this.#logger.warn('interceptor hook threw; ignored, the statement keeps its outcome (later failures of this hook are logged at debug level)', meta);
      } else {
        this.#logger.debug('interceptor hook threw; ignored, the statement keeps its outcome', meta);
      }
    } catch {
      // a failing logger must not change the outcome either
    }
  }
}
