import { AlertHistoryDbError } from '../errors/alert-history-db-error.js';

/**
 * Decides whether an error leaves a connection unusable, so that the pool closes the connection
 * instead of handing it to the next caller.
 */

/**
 * SQLSTATEs (outside class 08) after which the server has ended, or is ending, the session.
 * 53300 (`too_many_connections`) is only ever raised while connecting; it is listed so that a
 * caller classifying a failed acquisition gets a consistent answer.
 */
const SESSION_ENDING_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, fast or smart shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up or shutting down
  '57P04', // database_dropped
  '57P05', // idle_session_timeout (PostgreSQL 14+)
  '25P03', // idle_in_transaction_session_timeout: the server closes the session
  '53300', // too_many_connections
]);

/** Node.js socket, DNS and stream error codes that mean the connection's socket is gone. */
const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPROTO',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Messages node-postgres uses for client-side connection failures (these errors carry no code).
 * Matched at the start of the message.
 */
const CONNECTION_MESSAGE_PREFIXES: readonly string[] = [
  'Connection terminated', // "…", "… unexpectedly", "… due to connection timeout"
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout expired', // pg.Client's own connect timeout
  'Query read timeout', // query_timeout: the statement may still be running on this connection
  'Received unexpected', // protocol out of step with the server
  'The server does not support SSL connections',
  'There was an error establishing an SSL connection',
];

/** Fatal severities: the server closes the session after sending the error. */
const FATAL_SEVERITIES: ReadonlySet<string> = new Set(['FATAL', 'PANIC']);

/** How deep to follow `cause` / `AggregateError.errors` chains. */
const MAX_DEPTH = 5;

function property(error: object, name: string): unknown {
  return (error as Record<string, unknown>)[name];
}

function isFatal(error: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return false;
  if (error instanceof AlertHistoryDbError && error.kind === 'connection') return true;
  const code = property(error, 'code');
  if (typeof code === 'string') {
    if (/^08[0-9A-Z]{3}$/.test(code) || SESSION_ENDING_SQLSTATES.has(code) || SOCKET_ERROR_CODES.has(code)) {
      return true;
    }
  }
  const severity = property(error, 'severity');
  if (typeof severity === 'string' && FATAL_SEVERITIES.has(severity)) return true;
  const message = property(error, 'message');
  if (typeof message === 'string' && CONNECTION_MESSAGE_PREFIXES.some((prefix) => message.startsWith(prefix))) {
    return true;
  }
  if (isFatal(property(error, 'cause'), depth + 1)) return true;
  const errors = property(error, 'errors');
  return Array.isArray(errors) && errors.some((inner) => isFatal(inner, depth + 1));
}

/**
 * True when `error` means the connection it happened on can no longer be trusted:
 *
 * - SQLSTATE class `08` (connection exception);
 * - `57P01` admin shutdown (e.g. `pg_terminate_backend`), `57P02` crash shutdown, `57P03` cannot
 *   connect now, `57P04` database dropped, `57P05` idle session timeout, `25P03` idle-in-transaction
 *   timeout, `53300` too many connections (a connect-time error);
 * - any server error of severity `FATAL` or `PANIC`;
 * - this library's own errors of kind `connection` (e.g. a connection the driver discarded);
 * - socket errors (`ECONNRESET`, `EPIPE`, `ETIMEDOUT`, `ECONNREFUSED`, …);
 * - node-postgres' own connection errors (`Connection terminated…`, `Client was closed…`,
 *   `Query read timeout`, an unexpected protocol message, …).
 *
 * Wrapped errors are looked through: `cause` chains and `AggregateError.errors`, a few levels deep.
 * Anything else (constraint violations, syntax errors, `57014` statement timeout, serialization
 * failures) leaves the connection usable.
 */
export function isFatalConnectionError(error: unknown): boolean {
  return isFatal(error, 0);
}
