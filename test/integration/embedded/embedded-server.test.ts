import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { format, inspect } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';
import { failureOf } from '../../support/failure.js';
import { queryEmbedded } from './embedded-support.js';


describe('embedded PostgreSQL', () => {
  let server: EmbeddedServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('starts a real server on a free loopback port, with a password that is never printed', async () => {
    server = await startEmbeddedPostgres();
    expect(server.host).to.equal('127.0.0.1');
    expect(server.port).to.be.above(0);
    for (const shown of [String(server), JSON.stringify(server), inspect(server), inspect(server, { showHidden: true }), format('%o', server)]) {
      expect(shown).to.not.include(server.password);
    }
    const client = new pg.Client({ connectionString: server.connectionString() });
    await client.connect();
    const { rows } = await client.query<{ ok: number; listen: string }>("select 1 as ok, current_setting('listen_addresses') as listen");
    await client.end();
    expect(rows[0]).to.deep.equal({ ok: 1, listen: '127.0.0.1' });
  });

  it('refuses a wrong password (scram-sha-256), creates and drops databases, and removes its files on stop', async () => {
    server = await startEmbeddedPostgres();
    const wrong = new pg.Client({ host: server.host, port: server.port, user: server.user, password: 'not-the-password', database: 'postgres' });
    let failure: unknown;
    try {
      await wrong.connect();
    } catch (error) {
      failure = error;
    }
    await wrong.end().catch(() => undefined);
    expect((failure as { code?: string }).code).to.equal('28P01');

    await server.createDatabase('embedded_check');
    const client = new pg.Client({ connectionString: server.connectionString('embedded_check') });
    await client.connect();
    await client.end();
    await server.dropDatabase('embedded_check');

    const dataDir = server.dataDir;
    expect(existsSync(dataDir)).to.equal(true);
    const stopping = server.stop();
    expect(server.stop()).to.equal(stopping);
    await stopping;
    expect(existsSync(dataDir)).to.equal(false);
    server = undefined;
  });

  describe('halt and resume', () => {
    it('keeps the data, the port and the password across halt() and resume()', async () => {
      server = await startEmbeddedPostgres();
      expect(server.running).to.equal(true);
      await queryEmbedded(server, "create table survivor (id int primary key, note text); insert into survivor values (1, 'before halt')");

      await server.halt();
      expect(server.running).to.equal(false);
      expect(existsSync(server.dataDir)).to.equal(true);
      await server.halt();

      await server.resume();
      expect(server.running).to.equal(true);
      await server.resume();
      const rows = await queryEmbedded<{ id: number; note: string }>(server, 'select id, note from survivor');
      expect(rows).to.deep.equal([{ id: 1, note: 'before halt' }]);
    });

    it('refuses connections while halted, and terminates the open sessions when halting', async () => {
      server = await startEmbeddedPostgres();
      const open = new pg.Client({ connectionString: server.connectionString() });
      const sessionErrors: Error[] = [];
      open.on('error', (error) => sessionErrors.push(error));
      await open.connect();

      await server.halt();
      const lateQuery = await failureOf(open.query('select 1'));
      expect(lateQuery).to.be.instanceOf(Error);
      await open.end().catch(() => undefined);

      const refused = await failureOf(queryEmbedded(server, 'select 1'));
      expect((refused as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');

      await server.resume();
      expect(await queryEmbedded<{ ok: number }>(server, 'select 1 as ok')).to.deep.equal([{ ok: 1 }]);
    });

    it('removes the data directory when stopped while halted, and cannot be resumed after stop()', async () => {
      server = await startEmbeddedPostgres();
      const dataDir = server.dataDir;
      await server.halt();
      await server.stop();
      expect(existsSync(dataDir)).to.equal(false);
      expect(server.running).to.equal(false);
      await server.halt();
      const resumed = await failureOf(server.resume());
      expect(resumed.message).to.include('was stopped');
    });

    it('runs halt, resume and stop in call order when called without waiting', async () => {
      server = await startEmbeddedPostgres();
      const dataDir = server.dataDir;
      const steps = [server.halt(), server.resume(), server.halt(), server.resume()];
      await Promise.all(steps);
      expect(server.running).to.equal(true);
      expect(await queryEmbedded<{ ok: number }>(server, 'select 1 as ok')).to.deep.equal([{ ok: 1 }]);
      await Promise.all([server.halt(), server.stop()]);
      expect(existsSync(dataDir)).to.equal(false);
    });
  });

  describe('start failures', () => {
    let blocker: Server | undefined;

    afterEach(async () => {
      await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
      blocker = undefined;
    });

    it('rejects (instead of hanging) when the port is taken, and when resume() finds it taken', async () => {
      const taken = createServer();
      blocker = taken;
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const address = taken.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const failure = await failureOf(startEmbeddedPostgres({ port }));
      expect(failure.message).to.include(`failed to start on port ${port}`);

      await new Promise((resolve) => taken.close(resolve));
      blocker = undefined;
      server = await startEmbeddedPostgres();
      await server.halt();
      const squatter = createServer();
      blocker = squatter;
      await new Promise<void>((resolve) => squatter.listen(server?.port, '127.0.0.1', resolve));
      const resumeFailure = await failureOf(server.resume());
      expect(resumeFailure.message).to.include(`failed to start on port ${server.port}`);
      expect(server.running).to.equal(false);

      await new Promise((resolve) => squatter.close(resolve));
      blocker = undefined;
      await server.resume();
      expect(await queryEmbedded<{ ok: number }>(server, 'select 1 as ok')).to.deep.equal([{ ok: 1 }]);
    });
  });
});
