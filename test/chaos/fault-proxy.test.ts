import { connect, createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { failureOf } from '../support/failure.js';
import { waitFor } from './support/chaos-kit.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

/** A `node:net` echo server that also records every byte it received. */
interface EchoServer {
  readonly port: number;
  /** Everything the server received, over all connections. */
  readonly received: () => string;
  close(): Promise<void>;
}

async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  let received = '';
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the echo server has no TCP address');
  return {
    port: address.port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client connection to the proxy that collects what comes back and how it ended. */
class EchoClient {
  readonly #socket: Socket;
  #received = '';
  #closed = false;
  #error: NodeJS.ErrnoException | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => (this.#received += chunk.toString()));
    socket.on('error', (error) => (this.#error = error));
    socket.on('close', () => (this.#closed = true));
  }

  /** Connects to the proxy (or any server); resolves once the TCP connection is established. */
  static async open(target: { readonly host: string; readonly port: number }): Promise<EchoClient> {
    const socket = connect({ host: target.host, port: target.port });
    const client = new EchoClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return client;
  }

  get received(): string {
    return this.#received;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get error(): NodeJS.ErrnoException | undefined {
    return this.#error;
  }

  send(text: string): void {
    this.#socket.write(text);
  }

  /** Sends `text` and waits until it has come back (after whatever came back before). */
  async roundTrip(text: string): Promise<void> {
    const expected = this.#received + text;
    this.send(text);
    await waitFor(() => this.#received.startsWith(expected) || this.#closed, { description: `echo of ${text}` });
    expect(this.#received).to.equal(expected);
  }

  /** Waits until the socket is closed. */
  async untilClosed(): Promise<void> {
    await waitFor(() => this.#closed, { description: 'the client socket to close' });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

describe('fault proxy', function () {
  this.timeout(120_000);

  describe('in front of an echo server', () => {
    let echo: EchoServer;
    let proxy: FaultProxy;
    const clients: EchoClient[] = [];

    async function openClient(): Promise<EchoClient> {
      const client = await EchoClient.open(proxy);
      clients.push(client);
      return client;
    }

    beforeEach(async () => {
      echo = await startEchoServer();
      proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: echo.port });
    });

    afterEach(async () => {
      for (const client of clients.splice(0)) client.destroy();
      await proxy.close();
      await echo.close();
    });

    it('forwards both ways in pass mode and counts the connections', async () => {
      expect(proxy.mode).to.equal('pass');
      expect(proxy.host).to.equal('127.0.0.1');
      const client = await openClient();
      await client.roundTrip('hello');
      await client.roundTrip(' again');
      expect(proxy.activeConnections).to.equal(1);
      expect(proxy.acceptedConnections).to.equal(1);

      client.destroy();
      await waitFor(() => proxy.activeConnections === 0, { description: 'the proxy to see the client leave' });
      expect(proxy.acceptedConnections).to.equal(1);
    });

    it('delays every chunk in delay mode, keeping the order, also across a switch back to pass', async () => {
      const delayed = await openClient();
      await delayed.roundTrip('warm-up;');
      proxy.setMode('delay', { delayMs: 3000 });
      expect(proxy.mode).to.equal('delay');
      for (const part of ['one;', 'two;', 'three;']) delayed.send(part);

      const direct = await EchoClient.open({ host: '127.0.0.1', port: echo.port });
      clients.push(direct);
      await direct.roundTrip('direct;');
      expect(delayed.received, 'the delayed echo had not arrived when a direct ping came back').to.equal('warm-up;');
      expect(echo.received(), 'the server had not got the delayed bytes').to.equal('warm-up;direct;');

      proxy.setMode('pass');
      delayed.send('after;');
      await waitFor(() => delayed.received.length >= 'warm-up;one;two;three;after;'.length, { description: 'the delayed echoes' });
      expect(delayed.received).to.equal('warm-up;one;two;three;after;');

      const fresh = await openClient();
      await fresh.roundTrip('ping');
      expect(echo.received()).to.equal('warm-up;direct;one;two;three;after;ping');
    });

    it('drops every byte in blackhole mode, on existing and new connections, which stay open and broken', async () => {
      const existing = await openClient();
      await existing.roundTrip('before;');
      proxy.setMode('blackhole');
      existing.send('lost;');
      const newcomer = await openClient();
      newcomer.send('lost too;');
      expect(proxy.acceptedConnections).to.equal(2);

      proxy.setMode('pass');
      const fresh = await openClient();
      await fresh.roundTrip('ping;');
      existing.send('still lost;');
      await fresh.roundTrip('pong;');

      expect(existing.received, 'no echo came back over the blackholed connection').to.equal('before;');
      expect(newcomer.received, 'nothing answered the connection accepted during the blackhole').to.equal('');
      expect(echo.received(), 'the server never got the blackholed bytes').to.equal('before;ping;pong;');
      expect([existing.closed, newcomer.closed]).to.deep.equal([false, false]);
      expect(proxy.activeConnections).to.equal(3);

      existing.destroy();
      newcomer.destroy();
      await waitFor(() => proxy.activeConnections === 1, { description: 'the proxy to see the blackholed clients leave' });
    });

    it('resets the current connections and each new one in reset mode, until pass', async () => {
      const existing = await openClient();
      await existing.roundTrip('before;');
      proxy.setMode('reset');
      await existing.untilClosed();
      expect(existing.error?.code).to.equal('ECONNRESET');

      const refused = await openClient().catch((error: NodeJS.ErrnoException) => error);
      if (refused instanceof EchoClient) {
        await refused.untilClosed();
        expect(refused.error?.code).to.equal('ECONNRESET');
      } else {
        expect(refused.code).to.equal('ECONNRESET');
      }

      proxy.setMode('pass');
      const fresh = await openClient();
      await fresh.roundTrip('ping');
      expect(proxy.acceptedConnections).to.equal(3);
    });

    it('resets the client at once when the upstream refuses the connection', async () => {
      await echo.close();
      const client = await openClient();
      client.send('anyone there?');
      await client.untilClosed();
      expect(client.error?.code).to.equal('ECONNRESET');
      expect(client.received).to.equal('');
    });

    it('destroys every socket and stops listening on close()', async () => {
      const client = await openClient();
      await client.roundTrip('hello');
      await proxy.close();
      await client.untilClosed();
      const failure = await failureOf(EchoClient.open(proxy));
      expect((failure as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      await proxy.close();
    });
  });

  describe('in front of an embedded PostgreSQL', () => {
    let server: EmbeddedServer | undefined;
    let proxy: FaultProxy | undefined;
    const clients: pg.Client[] = [];

    function clientThroughProxy(options: pg.ClientConfig = {}): pg.Client {
      if (!server || !proxy) throw new Error('the server and the proxy are started in before()');
      // No connection timeout: a connection attempt that hangs fails the test by mocha's timeout.
      const client = new pg.Client({
        host: proxy.host,
        port: proxy.port,
        user: server.user,
        password: server.password,
        database: 'postgres',
        connectionTimeoutMillis: 0,
        ...options,
      });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    }

    before(async () => {
      server = await startEmbeddedPostgres();
      proxy = await startFaultProxy({ targetHost: server.host, targetPort: server.port });
    });

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
      proxy?.setMode('pass');
      await server?.resume();
    });

    after(async () => {
      await proxy?.close();
      await server?.stop();
    });

    it('carries a pg.Client session', async () => {
      const client = clientThroughProxy();
      await client.connect();
      const { rows } = await client.query<{ ok: number }>('select 1 as ok');
      expect(rows).to.deep.equal([{ ok: 1 }]);
    });

    it('makes a connection attempt fail, rather than hang, while the server is halted', async () => {
      await server?.halt();
      const failure = await failureOf(clientThroughProxy().connect());
      expect(failure.message).to.not.match(/timeout/i);
      expect((failure as NodeJS.ErrnoException).code).to.be.oneOf(['ECONNRESET', 'EPIPE']);

      await server?.resume();
      const client = clientThroughProxy();
      await client.connect();
      expect((await client.query<{ ok: number }>('select 1 as ok')).rows).to.deep.equal([{ ok: 1 }]);
    });

    it('leaves a blackholed session unanswered, while a session opened after pass works', async () => {
      const stuck = clientThroughProxy({ query_timeout: 1000 });
      await stuck.connect();
      proxy?.setMode('blackhole');
      const unanswered = await failureOf(stuck.query('select 1'));
      expect(unanswered.message).to.match(/timeout/i);

      proxy?.setMode('pass');
      const fresh = clientThroughProxy();
      await fresh.connect();
      expect((await fresh.query<{ ok: number }>('select 1 as ok')).rows).to.deep.equal([{ ok: 1 }]);
    });
  });
});
