/**
 * A TCP proxy that injects network faults between a client and a server (not a test file itself):
 * it forwards, delays, silently drops (blackhole) or resets connections, on command.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with connections:
 * - `pass`: forwards bytes both ways;
 * - `delay`: forwards every chunk both ways `delayMs` after it arrived, keeping their order;
 * - `blackhole`: keeps every socket open and drops every byte both ways, on the current
 *   connections and on new ones (accepted, never forwarded nor answered);
 * - `reset`: resets (TCP RST) every current connection, and each new one at once.
 */
export type FaultMode = 'pass' | 'delay' | 'blackhole' | 'reset';

/** Settings of {@link FaultProxy.setMode}. */
export interface FaultModeOptions {
  /** Delay of every chunk in `delay` mode, in milliseconds. Default 100. */
  readonly delayMs?: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Host of the server the proxy forwards to. */
  readonly targetHost: string;
  /** Port of the server the proxy forwards to. */
  readonly targetPort: number;
  /** Address the proxy listens on, on a free port. Default `127.0.0.1`. */
  readonly listenHost?: string;
}

/** A running fault proxy, see {@link startFaultProxy}. */
export interface FaultProxy {
  /** Address clients connect to. */
  readonly host: string;
  /** Port clients connect to. */
  readonly port: number;
  /** The current mode (initially `pass`). */
  readonly mode: FaultMode;
  /**
   * Switches the mode, for the current connections and new ones. Connections that lived through a
   * `blackhole` stay blackholed after it (their byte stream is broken: clients must discard them);
   * only connections accepted later are forwarded again.
   */
  setMode(mode: FaultMode, options?: FaultModeOptions): void;
  /** Client sockets currently open. */
  readonly activeConnections: number;
  /** Client connections accepted since the start, including those reset at once in `reset` mode. */
  readonly acceptedConnections: number;
  /** Destroys every socket and stops listening. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_DELAY_MS = 100;

/** What goes through one direction of a connection: bytes, then possibly the end of the stream. */
type Transfer = Buffer | 'end';

/** One direction of a connection: delivers transfers in arrival order, each no earlier than its release time. */
class OrderedForwarder {
  readonly #deliver: (transfer: Transfer) => void;
  readonly #queue: { readonly transfer: Transfer; readonly releaseAt: number }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(deliver: (transfer: Transfer) => void) {
    this.#deliver = deliver;
  }

  /** Delivers `transfer` after `delayMs`, and never before the transfers pushed earlier. */
  push(transfer: Transfer, delayMs: number): void {
    if (delayMs <= 0 && this.#queue.length === 0) {
      this.#deliver(transfer);
      return;
    }
    this.#queue.push({ transfer, releaseAt: performance.now() + delayMs });
    this.#schedule();
  }

  /** Drops what is still waiting. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }

  #schedule(): void {
    const head = this.#queue[0];
    if (this.#timer !== undefined || head === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#release();
      },
      Math.max(0, head.releaseAt - performance.now()),
    );
  }

  #release(): void {
    const now = performance.now();
    for (let head = this.#queue[0]; head !== undefined && head.releaseAt <= now; head = this.#queue[0]) {
      this.#queue.shift();
      this.#deliver(head.transfer);
    }
    this.#schedule();
  }
}

/** Resets a socket (TCP RST) unless it is already gone. */
function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** Writes a transfer to a socket unless the socket is gone. */
function write(socket: Socket, transfer: Transfer): void {
  if (socket.destroyed || socket.writableEnded) return;
  if (transfer === 'end') socket.end();
  else socket.write(transfer);
}

/** A client connection and its upstream connection (none when accepted in `blackhole` mode). */
class ProxiedConnection {
  readonly #client: Socket;
  readonly #upstream: Socket | undefined;
  readonly #toUpstream: OrderedForwarder;
  readonly #toClient: OrderedForwarder;
  #blackholed: boolean;
  #clientOpen = true;

  /**
   * Forwards between `client` and `upstream`, each chunk delayed by `delayMs()` at its arrival;
   * `onFinished` is called once both sockets are closed.
   */
  constructor(client: Socket, upstream: Socket | undefined, delayMs: () => number, onFinished: () => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#blackholed = upstream === undefined;
    this.#toUpstream = new OrderedForwarder((transfer) => {
      if (!this.#blackholed && upstream) write(upstream, transfer);
    });
    this.#toClient = new OrderedForwarder((transfer) => {
      if (!this.#blackholed) write(client, transfer);
    });
    client.on('data', (chunk: Buffer) => {
      if (!this.#blackholed) this.#toUpstream.push(chunk, delayMs());
    });
    client.on('end', () => {
      if (!this.#blackholed) this.#toUpstream.push('end', delayMs());
    });
    let openSockets = upstream ? 2 : 1;
    const socketClosed = (): void => {
      if (--openSockets === 0) onFinished();
    };
    client.on('close', (hadError) => {
      this.#clientOpen = false;
      socketClosed();
      this.#toClient.cancel();
      // An orderly close lets the upstream get what the client sent before; an abrupt one aborts it.
      if (hadError || this.#blackholed) {
        this.#toUpstream.cancel();
        upstream?.destroy();
      }
    });
    upstream?.on('data', (chunk: Buffer) => {
      if (!this.#blackholed) this.#toClient.push(chunk, delayMs());
    });
    upstream?.on('end', () => {
      if (!this.#blackholed) this.#toClient.push('end', delayMs());
    });
    upstream?.on('close', (hadError) => {
      socketClosed();
      this.#toUpstream.cancel();
      // The upstream failed (refused, reset): the client must see an error, not a hang.
      if (hadError && !this.#blackholed) {
        this.#toClient.cancel();
        reset(client);
      }
    });
  }

  /** Whether the client socket is still open. */
  get clientOpen(): boolean {
    return this.#clientOpen;
  }

  /** From now on, drops every byte both ways and keeps both sockets open (until the client closes). */
  blackhole(): void {
    this.#blackholed = true;
    this.#toUpstream.cancel();
    this.#toClient.cancel();
    // Nothing more reaches an upstream whose client is gone: it would stay open for good.
    if (!this.#clientOpen) this.#upstream?.destroy();
  }

  /** Resets the client connection (TCP RST) and drops the upstream one. */
  reset(): void {
    this.#toUpstream.cancel();
    this.#toClient.cancel();
    reset(this.#client);
    this.#upstream?.destroy();
  }
}

/** The fault proxy, see {@link FaultProxy}. */
class NetFaultProxy implements FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #target: { readonly host: string; readonly port: number };
  /** Connections with a socket still open. */
  readonly #connections = new Set<ProxiedConnection>();
  #mode: FaultMode = 'pass';
  #delayMs = DEFAULT_DELAY_MS;
  #accepted = 0;
  #closing: Promise<void> | undefined;

  constructor(server: Server, host: string, port: number, target: { readonly host: string; readonly port: number }) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.#target = target;
    server.on('connection', (client) => this.#accept(client));
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  get activeConnections(): number {
    let open = 0;
    for (const connection of this.#connections) if (connection.clientOpen) open++;
    return open;
  }

  get acceptedConnections(): number {
    return this.#accepted;
  }

  setMode(mode: FaultMode, options: FaultModeOptions = {}): void {
    const delayMs = options.delayMs ?? DEFAULT_DELAY_MS;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delayMs must be a finite number >= 0, got ${delayMs}`);
    this.#mode = mode;
    this.#delayMs = delayMs;
    if (mode === 'blackhole') for (const connection of this.#connections) connection.blackhole();
    if (mode === 'reset') for (const connection of this.#connections) connection.reset();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const connection of this.#connections) connection.reset();
    });
    return this.#closing;
  }

  toString(): string {
    return `FaultProxy(${this.host}:${this.port} -> ${this.#target.host}:${this.#target.port}, ${this.#mode})`;
  }

  #accept(client: Socket): void {
    this.#accepted++;
    client.on('error', () => undefined);
    if (this.#mode === 'reset' || this.#closing) {
      reset(client);
      return;
    }
    client.setNoDelay(true);
    let upstream: Socket | undefined;
    if (this.#mode !== 'blackhole') {
      upstream = connect({ host: this.#target.host, port: this.#target.port });
      upstream.on('error', () => undefined);
      upstream.setNoDelay(true);
    }
    const connection = new ProxiedConnection(
      client,
      upstream,
      () => (this.#mode === 'delay' ? this.#delayMs : 0),
      () => this.#connections.delete(connection),
    );
    this.#connections.add(connection);
  }
}

/** Starts a fault proxy in `pass` mode on a free port of `listenHost`, forwarding to the target. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const listenHost = options.listenHost ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error(`the fault proxy has no TCP address: ${String(address)}`);
  return new NetFaultProxy(server, listenHost, address.port, { host: options.targetHost, port: options.targetPort });
}
