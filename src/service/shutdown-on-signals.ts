import { constants } from 'node:os';

/** Something that stops gracefully. */
export interface Stoppable {
  close(): Promise<void>;
}

/** Options of {@link shutdownOnSignals}. */
export interface ShutdownOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Where the shutdown lines go. */
  readonly write: (text: string) => void;
  /** Ends the process. Default `process.exit`. */
  readonly exit?: (code: number) => void;
  /**
   * A repeat of the first signal within this many milliseconds is the same request, not a second
   * one: `npm start` runs the service under npm and tsx, which each relay SIGTERM to it, and a
   * terminal's Ctrl-C reaches every process of the group, which relay it again. Default 1000.
   */
  readonly repeatWindowMs?: number;
}

/** Default {@link ShutdownOptions.repeatWindowMs}. */
export const SIGNAL_REPEAT_WINDOW_MS = 1000;

/**
 * Graceful shutdown on SIGTERM and SIGINT: the first signal waits for `started` (a signal may come
 * during start-up), calls its `close()` and exits with status 0 (1 when closing fails). A second
 * signal exits at once with 128 + the signal's number (143 for SIGTERM, 130 for SIGINT), except a
 * repeat of the first one within `repeatWindowMs` (relayed by npm and tsx): that one is ignored.
 * Returns a function that removes the listeners.
 */
export function shutdownOnSignals(started: Promise<Stoppable>, options: ShutdownOptions): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const repeatWindowMs = options.repeatWindowMs ?? SIGNAL_REPEAT_WINDOW_MS;
  let stopping = false;
  let first: { readonly signal: NodeJS.Signals; readonly at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping && first !== undefined && signal === first.signal && performance.now() - first.at < repeatWindowMs) return;
    if (stopping) {
      options.write(`${signal} again: exiting now\n`);
      exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    stopping = true;
    first = { signal, at: performance.now() };
    options.write(`${signal}: shutting down (finishing requests in flight; ${signal} again exits at once)\n`);
    started
      .then((stoppable) => stoppable.close())
      .then(
        () => {
          options.write('Stopped.\n');
          exit(0);
        },
        (error: unknown) => {
          options.write(`Shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
          exit(1);
        },
      );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
}
