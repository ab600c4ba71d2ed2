import { connect } from 'node:net';
import type pg from 'pg';

/** PostgreSQL's CancelRequest code (1234 in the high 16 bits, 5678 in the low). */
const CANCEL_REQUEST_CODE = 80877102;

/** Where and what to cancel, as the server told the client when it connected. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

/**
 * The cancel target of a node-postgres client, or `undefined` when unknown. `secretKey` comes from
 * the server's BackendKeyData; node-postgres keeps it as a public field (its own `cancel()` uses it)
 * that its type declarations omit.
 */
export function cancelTargetOf(client: pg.ClientBase, processId: number | undefined): CancelTarget | undefined {
  const { host, port, secretKey } = client as pg.ClientBase & { host?: unknown; port?: unknown; secretKey?: unknown };
  if (processId === undefined || typeof host !== 'string' || typeof port !== 'number' || typeof secretKey !== 'number') {
    return undefined;
  }
  return { host, port, processId, secretKey };
}

/**
 * Sends the wire protocol's CancelRequest for a backend: a new TCP connection carrying 16 bytes,
 * which the server handles before authentication, so it needs no connection slot (it works when
 * the server answers `53300`) and no password. Unlike `pg_cancel_backend`, it cannot check which
 * statement is running: it cancels whatever the backend runs when it arrives. Sent in clear text
 * (PostgreSQL accepts a cancel request without TLS). Resolves once sent, or when it could not be
 * (connection refused or `timeoutMs` passed): a cancel is best effort.
 */
export function sendCancelRequest(target: CancelTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(target.processId, 8);
    packet.writeInt32BE(target.secretKey | 0, 12);
    const path = target.host.startsWith('/') ? `${target.host}/.s.PGSQL.${target.port}` : undefined;
    const socket = path === undefined ? connect(target.port, target.host) : connect(path);
    let sent = false;
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(sent);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.once('connect', () => {
      socket.end(packet, () => {
        sent = true;
      });
    });
    // the server closes the connection once it has read the request
    socket.once('close', finish);
    socket.once('error', finish);
  });
}
