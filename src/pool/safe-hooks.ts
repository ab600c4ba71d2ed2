import { describeError } from '../observability/describe-error.js';
import type { Logger } from '../observability/logger.js';
import type { PoolObserver } from './instrumented-pool.js';

type Hook = keyof PoolObserver;
type HookEvent<K extends Hook> = Parameters<NonNullable<PoolObserver[K]>>[0];

/** A logger whose methods never throw: a failing logger must not break the pool. */
export function safeLogger(logger: Logger): Logger {
  const guard =
    (level: keyof Logger) =>
    (message: string, meta?: Record<string, unknown>): void => {
      try {
        logger[level](message, meta);
      } catch {
        // Nowhere left to report it; the pool goes on.
      }
    };
  return Object.freeze({ error: guard('error'), warn: guard('warn'), info: guard('info'), debug: guard('debug') });
}

/**
 * Calls the observer's hooks, each inside `try`/`catch`: an exception thrown by a hook is logged
 * (once per hook, to keep a broken hook from flooding the log) and otherwise ignored.
 */
export class ObserverCaller {
  readonly #observer: PoolObserver | undefined;
  readonly #logger: Logger;
  readonly #poolName: string;
  readonly #reported = new Set<Hook>();

  constructor(observer: PoolObserver | undefined, logger: Logger, poolName: string) {
    this.#observer = observer;
    this.#logger = logger;
    this.#poolName = poolName;
  }

  /** Whether the observer has `hook`: lets hot paths skip building an event nobody reads. */
  wants(hook: Hook): boolean {
    return this.#observer?.[hook] !== undefined;
  }

  /** Calls `observer[hook](event)` if the hook exists. Never throws. */
  emit<K extends Hook>(hook: K, event: HookEvent<K>): void {
    const observer = this.#observer;
    if (observer === undefined) return;
    try {
      const method = observer[hook] as ((event: HookEvent<K>) => void) | undefined;
      method?.call(observer, event);
    } catch (error) {
      if (!this.#reported.has(hook)) {
        this.#reported.add(hook);
        this.#logger.warn('pool observer hook threw; the error is ignored', {
          pool: this.#poolName,
          hook,
          error: describeError(error),
        });
      }
    }
  }
}
