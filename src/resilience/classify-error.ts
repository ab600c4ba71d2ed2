import { AlertHistoryDbError } from '../errors/alert-history-db-error.js';
import type { ErrorKind } from '../errors/error-kind.js';
import { isFatalConnectionError } from '../pool/fatal-error.js';

/**
 * What an error means to a caller deciding what to do next.
 *
 * `retryable` answers "may repeating the same operation succeed without anything else
 * changing?" (a serialization failure, a refused connection, an acquire timeout, too many
 * connections, a server that is starting up). It does NOT say that replaying is safe: whether a
 * write may be sent again is decided by the retry policy (did the statement certainly never reach
 * the server? is it read-only outside a transaction? is a whole transaction being re-run on
 * `40001`/`40P01`?), never by the kind alone. A connection lost mid-statement is not retryable
 * here because its outcome is unknown.
 */
export interface ErrorClassification {
  /** Category of the failure. */
  readonly kind: ErrorKind;
  /** SQLSTATE, socket code (e.g. `ECONNREFUSED`) or library code of the error that decided the kind. */
  readonly code: string | undefined;
  /** Whether repeating the same operation may succeed without anything else changing. */
  readonly retryable: boolean;
  /**
   * False when the connection the error happened on must be discarded (as decided by
   * `isFatalConnectionError`); true when it can be reused or no connection was involved.
   */
  readonly connectionUsable: boolean;
}

type Decision = Omit<ErrorClassification, 'connectionUsable'>;

/** How deep to follow `cause` / `AggregateError.errors` chains. */
const MAX_DEPTH = 5;

/** SQLSTATE codes: five characters, in a class that starts with a digit or one of PostgreSQL's letter classes. */
const SQLSTATE = /^(?:[0-9][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/** Exact SQLSTATEs whose kind differs from their class's. */
const BY_SQLSTATE: ReadonlyMap<string, ErrorKind> = new Map<string, ErrorKind>([
  ['57P01', 'connection'], // admin_shutdown (pg_terminate_backend, shutdown)
  ['57P02', 'connection'], // crash_shutdown
  ['57P03', 'connection'], // cannot_connect_now
  ['57P04', 'connection'], // database_dropped
  ['57P05', 'connection'], // idle_session_timeout: the server closed the session
  ['53300', 'connection'], // too_many_connections
  ['57014', 'timeout'], // query_canceled: statement_timeout or a cancel request
  ['25P03', 'timeout'], // idle_in_transaction_session_timeout (the session is closed too)
  ['55P03', 'timeout'], // lock_not_available: lock_timeout or NOWAIT
  ['40001', 'serialization'], // serialization_failure
  ['40P01', 'serialization'], // deadlock_detected
  ['40002', 'constraint'], // transaction_integrity_constraint_violation
  ['3D000', 'configuration'], // invalid_catalog_name: the configured database does not exist
]);

/** Kinds of whole SQLSTATE classes (the first two characters). */
const BY_CLASS: ReadonlyMap<string, ErrorKind> = new Map<string, ErrorKind>([
  ['08', 'connection'],
  ['23', 'constraint'],
  ['44', 'constraint'], // with_check_option_violation
  ['22', 'data'],
  ['42', 'programming'],
  ['0A', 'programming'], // feature_not_supported
  ['0B', 'programming'], // invalid_transaction_initiation
  ['0L', 'programming'], // invalid_grantor
  ['0P', 'programming'], // invalid_role_specification
  ['20', 'programming'], // case_not_found
  ['21', 'programming'], // cardinality_violation
  ['24', 'programming'], // invalid_cursor_state
  ['25', 'programming'], // invalid_transaction_state (e.g. 25P02 in failed transaction)
  ['26', 'programming'], // invalid_sql_statement_name
  ['2B', 'programming'], // dependent_privilege_descriptors_still_exist
  ['2D', 'programming'], // invalid_transaction_termination
  ['34', 'programming'], // invalid_cursor_name
  ['3B', 'programming'], // savepoint_exception
  ['3F', 'programming'], // invalid_schema_name
  ['54', 'programming'], // program_limit_exceeded (statement too complex, too many columns)
  ['53', 'resources'], // insufficient_resources (disk full, out of memory); 53300 is above
  ['28', 'configuration'], // invalid_authorization_specification (wrong password, no pg_hba entry)
  ['F0', 'configuration'], // config_file_error
  ['XX', 'internal'],
]);

/**
 * SQLSTATEs that may succeed when simply repeated: `40001`/`40P01` (re-run the whole
 * transaction), `53300` and `57P03` (the server refused the connection before any statement),
 * `08001` (the client could not establish a connection).
 */
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01', '53300', '57P03', '08001']);

/**
 * Client-side codes of failures to connect at all, where no statement was sent and trying again
 * later may succeed. (Every socket code the pool treats as fatal is recognised through
 * `isFatalConnectionError`; this is only the retryable subset.)
 */
const RETRYABLE_CONNECT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EAI_AGAIN']);

/** Whether `code` is an SQLSTATE (five characters in one of PostgreSQL's classes), not a socket or library code. */
export function isSqlState(code: string | undefined): code is string {
  return code !== undefined && SQLSTATE.test(code);
}

function property(value: object, name: string): unknown {
  return (value as Record<string, unknown>)[name];
}

function stringProperty(value: object, name: string): string | undefined {
  const found = property(value, name);
  return typeof found === 'string' ? found : undefined;
}

function fromSqlState(code: string): Decision {
  const kind = BY_SQLSTATE.get(code) ?? BY_CLASS.get(code.slice(0, 2)) ?? 'internal';
  return { kind, code, retryable: RETRYABLE_SQLSTATES.has(code) };
}

/** Decides from `value` itself or, failing that, from what it wraps; undefined when nothing is recognised. */
function decide(value: unknown, depth: number): Decision | undefined {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return undefined;
  if (value instanceof AlertHistoryDbError) {
    return { kind: value.kind, code: value.code, retryable: value.retryable };
  }
  const code = stringProperty(value, 'code');
  if (code !== undefined && SQLSTATE.test(code)) return fromSqlState(code);
  // The value's own socket code or node-postgres connection message, without what it wraps.
  const own = { code, message: stringProperty(value, 'message') };
  if (isFatalConnectionError(own)) {
    return { kind: 'connection', code, retryable: code !== undefined && RETRYABLE_CONNECT_CODES.has(code) };
  }
  const inner = decide(property(value, 'cause'), depth + 1);
  if (inner !== undefined) return inner;
  const errors = property(value, 'errors');
  if (Array.isArray(errors)) {
    for (const error of errors) {
      const decided = decide(error, depth + 1);
      if (decided !== undefined) return decided;
    }
  }
  return undefined;
}

/**
 * Classifies any thrown value:
 *
 * - `connection`: SQLSTATE class `08`, `57P01`–`57P05`, `53300` too many connections, socket
 *   errors (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `EPIPE`, `ENOTFOUND`, …), node-postgres'
 *   `Connection terminated…` family, and this library's `ConnectionError` / `CircuitOpenError`;
 * - `timeout`: `57014` (statement_timeout or a cancel), `55P03` lock timeout, `25P03`,
 *   `AcquireTimeoutError`, `QueryTimeoutError`;
 * - `serialization`: `40001`, `40P01`;
 * - `constraint`: class `23`, `40002`, `44000`;
 * - `data`: class `22`;
 * - `programming`: class `42`, `0A000` and the other classes of misused SQL (`25`, `26`, `34`, …);
 * - `resources`: class `53` other than `53300`;
 * - `configuration`: `ConfigError`, class `28` (authentication), `3D000` unknown database;
 * - `closed`: `PoolClosedError`;
 * - `internal`: class `XX` and anything unrecognised, including non-errors (`code` is then the
 *   outermost value's string `code`, if any).
 *
 * The outermost recognised error decides; `cause` chains and `AggregateError.errors` are
 * followed a few levels deep. `connectionUsable` is `!isFatalConnectionError(error)`, the same
 * decision the pool makes when the connection is released. See {@link ErrorClassification} for
 * what `retryable` does and does not promise.
 */
export function classifyError(error: unknown): ErrorClassification {
  const decided = decide(error, 0) ?? {
    kind: 'internal',
    code: typeof error === 'object' && error !== null ? stringProperty(error, 'code') : undefined,
    retryable: false,
  };
  return Object.freeze({ ...decided, connectionUsable: !isFatalConnectionError(error) });
}
