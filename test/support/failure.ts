/**
 * The error `work` rejects with (a promise, or a function returning one); fails the test when it
 * resolves instead.
 */
export async function failureOf(work: Promise<unknown> | (() => Promise<unknown>)): Promise<Error> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure, but the work succeeded');
}

/** What `work` throws (synchronously); fails the test when it returns instead. */
export function thrownBy(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an exception');
}
