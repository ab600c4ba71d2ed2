import type { ErrorKind } from './error-kind.js';

/** Options shared by every typed error of this library. */
export interface AlertHistoryDbErrorOptions {
  /** SQLSTATE or a library code (e.g. `POOL_CLOSED`). */
  readonly code: string;
  /** Whether repeating the operation can succeed without anything else changing. */
  readonly retryable: boolean;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * Base class of the library's own errors. Messages never contain parameter values or secrets.
 */
export abstract class AlertHistoryDbError extends Error {
  /** Category of the failure. */
  abstract readonly kind: ErrorKind;
  /** SQLSTATE or library code. */
  readonly code: string;
  /** Whether the operation may simply be tried again. */
  readonly retryable: boolean;

  protected constructor(message: string, options: AlertHistoryDbErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retryable = options.retryable;
  }
}
