import { AlertHistoryDbError } from './alert-history-db-error.js';

/** How a {@link ConnectionError} came about. */
export interface ConnectionErrorOptions {
  /**
   * What was being done, e.g. `connecting to 127.0.0.1:5432` or `running a query`. Written by the
   * library, never from user input: it must not contain passwords or parameter values.
   */
  readonly context?: string;
  /**
   * True only when repeating the operation may succeed without anything else changing and the
   * failure happened before the statement could reach the server (e.g. a refused connection).
   * Defaults to `false`: a connection lost mid-statement leaves its outcome unknown.
   */
  readonly retryable?: boolean;
}

/** Removes credentials that a lower layer may have put into a message (URL user info, `password=…`). */
function redact(text: string): string {
  return text
    .replace(/(\/\/[^/\s:@]*):[^@\s/]*@/g, '$1:***@')
    .replace(/(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1***');
}

function codeOf(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' && code.length > 0 ? code : undefined;
}

/**
 * The connection to PostgreSQL failed or was lost: a socket error (`ECONNREFUSED`,
 * `ECONNRESET`, …), an SQLSTATE class `08` error or one of node-postgres' own connection errors,
 * kept as `cause`. `code` is the cause's code when it has one, `CONNECTION_FAILED` otherwise.
 *
 * The message holds the context, the cause's code and the cause's message with any credentials
 * redacted; it never includes passwords or query parameter values.
 */
export class ConnectionError extends AlertHistoryDbError {
  readonly kind = 'connection' as const;

  constructor(cause: unknown, options: ConnectionErrorOptions = {}) {
    const code = codeOf(cause);
    const causeMessage = cause instanceof Error ? redact(cause.message) : undefined;
    const detail = [code, causeMessage].filter((part) => part !== undefined && part.length > 0).join(': ');
    super(`${options.context ?? 'PostgreSQL connection failed'}${detail ? ` (${detail})` : ''}`, {
      code: code ?? 'CONNECTION_FAILED',
      retryable: options.retryable ?? false,
      cause,
    });
  }
}
