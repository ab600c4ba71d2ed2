import type { HookResult, InterceptedResult, QueryInterceptor } from './interceptor.js';
import type { QueryContextImpl } from './query-context.js';

/** The real execution at the centre of the chain. */
export type Terminal = (ctx: QueryContextImpl) => Promise<InterceptedResult>;

type Step = (ctx: QueryContextImpl, terminal: Terminal) => Promise<InterceptedResult>;

async function settled(result: HookResult): Promise<void> {
  if (result !== undefined) await result;
}

function wrap(interceptor: QueryInterceptor, inner: Step): Step {
  const { before, execute, after, error } = interceptor;
  return async (ctx, terminal) => {
    if (before) await settled(before.call(interceptor, ctx));
    let result: InterceptedResult;
    try {
      const next = (): Promise<InterceptedResult> => inner(ctx, terminal);
      result = execute ? await execute.call(interceptor, ctx, next) : await next();
    } catch (failure) {
      ctx.settle(undefined, false);
      if (error) await settled(error.call(interceptor, ctx, failure));
      throw failure;
    }
    ctx.settle(result.rows.length, false);
    if (after) await settled(after.call(interceptor, ctx, result));
    return result;
  };
}

const innermost: Step = (ctx, terminal) => terminal(ctx);

/**
 * The composed interceptors of one dialect. Built once; each statement only allocates its context
 * and one closure per interceptor. See {@link QueryInterceptor} for the order of the hooks.
 */
export class InterceptorChain {
  readonly #interceptors: readonly QueryInterceptor[];
  readonly #run: Step;

  private constructor(interceptors: readonly QueryInterceptor[]) {
    this.#interceptors = interceptors;
    this.#run = interceptors.reduceRight<Step>((inner, interceptor) => wrap(interceptor, inner), innermost);
  }

  /** The chain of `interceptors`, or `undefined` when there are none (the fast path). */
  static of(interceptors: readonly QueryInterceptor[] | undefined): InterceptorChain | undefined {
    if (!interceptors || interceptors.length === 0) return undefined;
    for (const [index, interceptor] of interceptors.entries()) {
      if (typeof interceptor !== 'object' || interceptor === null) {
        throw new TypeError(`interceptor #${index} is not an object`);
      }
    }
    return new InterceptorChain(Object.freeze([...interceptors]));
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
        if (interceptor.before) await settled(interceptor.before(ctx));
        entered += 1;
      }
    } catch (failure) {
      await this.failStream(ctx, entered, failure);
      throw failure;
    }
    return entered;
  }

  /** Runs the `after` hooks of the first `entered` interceptors of a stream that ended well, innermost first. */
  async completeStream(ctx: QueryContextImpl, entered: number, rowCount: number): Promise<void> {
    ctx.settle(rowCount, true);
    const result: InterceptedResult = { rows: [] };
    for (let i = entered - 1; i >= 0; i -= 1) {
      const interceptor = this.#interceptors[i];
      if (interceptor?.after) await settled(interceptor.after(ctx, result));
    }
  }

  /** Runs the `error` hooks of the first `entered` interceptors of a failed stream, innermost first. */
  async failStream(ctx: QueryContextImpl, entered: number, failure: unknown): Promise<void> {
    ctx.settle(undefined, false);
    for (let i = entered - 1; i >= 0; i -= 1) {
      const interceptor = this.#interceptors[i];
      if (interceptor?.error) await settled(interceptor.error(ctx, failure));
    }
  }
}
