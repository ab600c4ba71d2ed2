import { existsSync } from 'node:fs';
import { format, inspect } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';

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
});
