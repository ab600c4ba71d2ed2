/** What a connection attempt used: TLS (`ssl` set) or plaintext (`ssl: false`). */
export type TlsAttempt = 'tls' | 'plaintext';

/** pg's error when the server answers `N` to the SSLRequest (it has `ssl = off`). */
const SERVER_WITHOUT_TLS = 'The server does not support SSL connections';
/** SQLSTATE invalid_authorization_specification: pg_hba.conf has no line for this connection, or rejects it. */
const HBA_REFUSAL = '28000';
/** The end of the server's pg_hba.conf refusal for a plaintext connection ("no encryption"; "SSL off" before PostgreSQL 12). */
const PLAINTEXT_STATE = /(?:, no encryption|, SSL off)$/;
/** …and for a TLS connection ("SSL encryption"; "SSL on" before PostgreSQL 12). */
const TLS_STATE = /(?:, SSL encryption|, SSL on)$/;
const MAX_CAUSES = 5;

/**
 * Whether `error` says the server refused the connection *because of* its encryption, so that
 * the other choice of a `TlsPlan` (its `fallback`) may succeed:
 *
 * - `attempted: 'tls'`: pg's "The server does not support SSL connections" (the server has TLS
 *   off), or a pg_hba.conf refusal (SQLSTATE 28000) ending in ", SSL encryption" (only
 *   `hostnossl` lines match this client);
 * - `attempted: 'plaintext'`: a pg_hba.conf refusal (SQLSTATE 28000) ending in ", no encryption"
 *   (only `hostssl` lines match, or `hostnossl … reject`).
 *
 * Wrong passwords, unknown roles, network errors and certificate failures are not refusals:
 * retrying them without (or with) TLS cannot help, and libpq's habit of retrying `allow`/`prefer`
 * after *any* startup error is deliberately not copied (a second password attempt can count
 * against lockout policies). The `cause` chain is followed, so a wrapped error is recognised.
 * The server's messages are matched in English: with a translated `lc_messages` the pg_hba.conf
 * refusals are not recognised (and the first attempt's error is reported as is).
 */
export function isTlsRefusal(error: unknown, attempted: TlsAttempt): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES && current instanceof Error; depth++) {
    if (attempted === 'tls' && current.message === SERVER_WITHOUT_TLS) return true;
    if (isHbaRefusal(current, attempted === 'tls' ? TLS_STATE : PLAINTEXT_STATE)) return true;
    current = current.cause;
  }
  return false;
}

function isHbaRefusal(error: Error, state: RegExp): boolean {
  return 'code' in error && error.code === HBA_REFUSAL && state.test(error.message);
}
