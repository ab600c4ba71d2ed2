/**
 * Appends the frames of `site` (an `Error` made where the caller's frames are on the stack) to
 * `error.stack`, so that a server error shows which application code ran the query. The error
 * keeps its class, message and fields (`pg.DatabaseError` stays one). Non-errors pass unchanged.
 */
export function withCallerFrames<E>(error: E, site: Error): E {
  if (typeof error !== 'object' || error === null) return error;
  const holder = error as { stack?: unknown };
  const frames = site.stack?.split('\n').slice(1).join('\n');
  if (typeof holder.stack === 'string' && frames) {
    try {
      holder.stack = `${holder.stack}\n${frames}`;
    } catch {
      // a frozen or accessor-only stack stays as it is
    }
  }
  return error;
}
