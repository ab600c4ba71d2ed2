import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { createDatabase } from '../../../src/database/create-database.js';
import type { QueryInterceptor } from '../../../src/dialect/interceptor.js';

/** A TCP listener standing in for a server: it only counts and holds the connections it accepts. */
interface CountingServer {
  readonly port: number;
  readonly accepted: Socket[];
  close(): Promise<void>;
}

async function countingServer(): Promise<CountingServer> {
  const accepted: Socket[] = [];
  const server: Server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    port: address.port,
    accepted,
    close: async () => {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('createDatabase: validates everything before it opens the pool', () => {
  let server: CountingServer;

  beforeEach(async () => {
    server = await countingServer();
  });

  afterEach(async () => {
    await server?.close();
  });

  it('throws TypeError for an invalid interceptor without opening a connection', async () => {
    let failure: unknown;
    try {
      createDatabase(
        { host: '127.0.0.1', port: server.port, user: 'app', database: 'alerts', sslMode: 'disable', minConns: 2 },
        { env: {}, interceptors: [null as unknown as QueryInterceptor] },
      );
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(TypeError);
    // A pool would have started its warm-up (minConns: 2) at once. Nothing can prove that no
    // connection will ever come; this wait only bounds how long a pool created anyway takes to show.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.accepted.length).to.equal(0);
  });
});
