const MAX_SHOWN = 64;

/**
 * Quotes a value for a problem message, shortened to 64 characters. Only for values that are
 * never secret (ports, counts, durations, modes, paths); passwords and URLs are never quoted.
 */
export function quote(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);
}

/** Quotes a file path for a problem message, in full (paths are never secret). */
export function quotePath(path: string): string {
  return JSON.stringify(path);
}
