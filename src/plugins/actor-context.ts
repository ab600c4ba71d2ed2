import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who a statement runs on behalf of, as the audit log records it: a user id (`'user-42'`), or an
 * object with a string `id` and whatever else identifies the caller
 * (`{ id: 'svc-billing', kind: 'service', requestId: 'r-9' }`). It is written to the audit log as
 * it is: never put secrets (tokens, passwords) in it.
 */
export type Actor =
  | string
  | {
      /** Who acts: a user or service identifier (a non-empty string). */
      readonly id: string;
      readonly [key: string]: unknown;
    };

const storage = new AsyncLocalStorage<Actor>();

/** `actor` as it is kept: a string as it is, an object as a frozen shallow copy. */
function checkedActor(actor: unknown): Actor {
  if (typeof actor === 'string') {
    if (actor.length === 0) throw new TypeError('actor must not be an empty string');
    return actor;
  }
  if (typeof actor !== 'object' || actor === null || Array.isArray(actor)) {
    throw new TypeError('actor must be a string or an object with a string id');
  }
  const copy = { ...(actor as Record<string, unknown>) };
  if (typeof copy.id !== 'string' || copy.id.length === 0) throw new TypeError('actor.id must be a non-empty string');
  return Object.freeze(copy as { readonly id: string; readonly [key: string]: unknown });
}

/**
 * Runs `fn` with `actor` as the {@link currentActor} of everything it does, synchronously and
 * asynchronously (promises, timers, callbacks started inside it), through Node's
 * `AsyncLocalStorage`. Returns what `fn` returns (its promise, for an async `fn`) and throws what
 * it throws. Nested calls: the innermost actor wins inside the inner call; the outer one is current
 * again after it. Concurrent calls never see each other's actor.
 *
 * An object actor is copied (shallowly) and frozen when `withActor` is called, so changing the
 * object afterwards does not change what is recorded; {@link currentActor} returns the copy.
 *
 * @throws TypeError when `actor` is neither a non-empty string nor an object with a non-empty
 *   string `id`, or `fn` is not a function.
 */
export function withActor<T>(actor: Actor, fn: () => T): T {
  const kept = checkedActor(actor);
  if (typeof fn !== 'function') throw new TypeError('withActor needs a function to run');
  return storage.run(kept, fn);
}

/** The actor of the innermost {@link withActor} around the caller, or `undefined` outside any. */
export function currentActor(): Actor | undefined {
  return storage.getStore();
}
