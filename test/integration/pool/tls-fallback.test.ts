import { expect } from 'chai';
import pg from 'pg';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { toClientConfig } from '../../../src/pool/pg-pool-options.js';
import { effectiveSslOf, TlsFallback } from '../../../src/pool/tls-fallback-client.js';
import { poolConfig } from '../../support/pool-config.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { CapturingLogger } from './pool-test-kit.js';

describe('pool with sslmode prefer and allow', () => {
  let db: TestDatabase;
  let serverTls: boolean;
  const pools: InstrumentedPool[] = [];

  before(async () => {
    db = await createTestDatabase('pool tls');
    const probe = createPool(poolConfig(db, { sslMode: 'disable' }));
    const { rows } = await probe.query<{ ssl: string }>("select current_setting('ssl') as ssl");
    serverTls = rows[0]?.ssl === 'on';
    await probe.close();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 1000 })));
  });
  after(async () => {
    await db.drop();
  });

  async function sessionUsesTls(pool: InstrumentedPool): Promise<boolean> {
    const { rows } = await pool.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    return rows[0]?.ssl === true;
  }

  it('prefer: connects (with the plaintext fallback when the server has no TLS), for every new connection', async () => {
    const logger = new CapturingLogger();
    const pool = createPool(poolConfig(db, { sslMode: 'prefer', maxConns: 3, minConns: 2 }), { logger });
    pools.push(pool);
    await pool.warmUp();
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    for (const connection of held) connection.release();
    expect(await sessionUsesTls(pool)).to.equal(serverTls);
    expect(pool.stats()).to.include({ total: 3, createdCount: 3, connectErrorCount: 0, acquireErrorCount: 0 });
    // Each new connection tried TLS first; against a server without TLS each one fell back.
    const fallbacks = logger.find('debug', 'connecting again with the fallback');
    expect(fallbacks).to.have.length(serverTls ? 0 : 3);
    for (const entry of fallbacks) expect(entry.meta?.error).to.deep.equal({ message: 'The server does not support SSL connections' });
  });

  it('prefer: opens a standalone (control) client outside the pool with the same fallback', async () => {
    const pool = createPool(poolConfig(db, { sslMode: 'prefer', maxConns: 1 }));
    pools.push(pool);
    const held = await pool.acquire(); // the pool is full: the standalone client must not wait
    const client = await pool.openClient({ applicationName: 'pool-control' });
    try {
      const { rows } = await client.query<{ app: string; ssl: boolean }>(
        "select current_setting('application_name') as app, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl",
      );
      expect(rows[0]).to.deep.equal({ app: 'pool-control', ssl: serverTls });
    } finally {
      await client.end();
      held.release();
    }
    expect(pool.stats()).to.include({ total: 1, createdCount: 1 });
  });

  it('openClient({ like }): copies the TLS setting a pooled client connected with, in one attempt', async () => {
    const logger = new CapturingLogger();
    const pool = createPool(poolConfig(db, { sslMode: 'prefer', maxConns: 1 }), { logger });
    pools.push(pool);
    const held = await pool.acquire();
    const fallbacksBefore = logger.find('debug', 'connecting again with the fallback').length;
    const client = await pool.openClient({ applicationName: 'pool-control-like', like: held.client });
    try {
      const { rows } = await client.query<{ app: string; ssl: boolean }>(
        "select current_setting('application_name') as app, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl",
      );
      expect(rows[0]).to.deep.equal({ app: 'pool-control-like', ssl: serverTls });
      // No refused first attempt this time, whatever the server.
      expect(logger.find('debug', 'connecting again with the fallback')).to.have.length(fallbacksBefore);
      expect(effectiveSslOf(client)).to.deep.equal(effectiveSslOf(held.client));
    } finally {
      await client.end();
      held.release();
    }
    expect(pool.stats()).to.include({ total: 1, createdCount: 1, connectErrorCount: 0 });
  });

  it('openClient({ like }): refuses a client that is not a connection of this pool', async () => {
    const pool = createPool(poolConfig(db, { sslMode: 'require' }));
    const other = createPool(poolConfig(db, { sslMode: 'disable' }));
    pools.push(pool, other);
    // Not connected: only its TLS setting (plaintext) matters, which must not be copied.
    const handMade = new pg.Client({ ...pool.connectionOptions, ssl: false });
    const error: unknown = await pool.openClient({ like: handMade }).then(
      () => expect.fail('openClient accepted a hand-made client'),
      (failure: unknown) => failure,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.include('connection of this pool');
    // Another pool's connection is refused too.
    const foreign = await other.acquire();
    try {
      await pool.openClient({ like: foreign.client }).then(
        () => expect.fail("openClient accepted another pool's client"),
        (failure: unknown) => expect(failure).to.be.instanceOf(TypeError),
      );
    } finally {
      foreign.release();
    }
    expect(pool.stats()).to.include({ total: 0, connectErrorCount: 0 });
  });

  describe('fallback handoff when pg.Pool builds the client later (no server involved)', () => {
    // A stand-in for pg.Pool.connect() against a server without TLS: it builds a client with the
    // pool's Client class and "connects" it, refused when the client asks for TLS.
    const refusal = (): Error => new Error('The server does not support SSL connections');
    function setUp(): { tls: TlsFallback; build: () => pg.Client } {
      const config = poolConfig(db, { sslMode: 'prefer' });
      const tls = new TlsFallback(config, () => undefined);
      const options = toClientConfig(config, tls.first);
      const build = (): pg.Client => {
        const client = new tls.Client(options);
        if (effectiveSslOf(client) !== false) throw refusal();
        return client;
      };
      return { tls, build };
    }

    it('gives the fallback to a retry whose client is constructed on a later turn', async () => {
      const { tls, build } = setUp();
      let attempts = 0;
      const client = await tls.connect(
        () =>
          new Promise<pg.Client>((resolve, reject) => {
            attempts += 1;
            setImmediate(() => {
              try {
                resolve(build());
              } catch (error) {
                reject(error);
              }
            });
          }),
      );
      expect(effectiveSslOf(client)).to.equal(false);
      expect(attempts).to.equal(2);
      // No handoff is left over: the next new client starts with TLS again.
      expect(() => build()).to.throw('does not support SSL');
    });

    it('retries again when another connect took the handoff first, and leaves none behind', async () => {
      const { tls, build } = setUp();
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let retryStarted!: () => void;
      const retrying = new Promise<void>((resolve) => {
        retryStarted = resolve;
      });
      let attempts = 0;
      const slow = tls.connect(async () => {
        attempts += 1;
        if (attempts === 2) {
          retryStarted();
          await gate; // pg.Pool queued this retry: its client is built later
        }
        return build();
      });
      await retrying;
      // Meanwhile another connect builds its client at once and takes the handoff.
      const quick = await tls.connect(async () => build());
      expect(effectiveSslOf(quick)).to.equal(false);
      openGate();
      expect(effectiveSslOf(await slow)).to.equal(false);
      expect(attempts).to.equal(3);
      expect(() => build()).to.throw('does not support SSL');
    });

    it('withdraws the handoff of a retry that got an existing client', async () => {
      const { tls, build } = setUp();
      const idle = { ssl: false } as unknown as pg.Client; // an idle client pg.Pool hands out: nothing constructed
      let attempts = 0;
      const client = await tls.connect(async () => {
        attempts += 1;
        return attempts === 1 ? build() : idle;
      });
      expect(client).to.equal(idle);
      expect(() => build()).to.throw('does not support SSL');
    });
  });

  it('allow: plaintext first, which a server without TLS requirements accepts', async () => {
    const pool = createPool(poolConfig(db, { sslMode: 'allow' }));
    pools.push(pool);
    expect(await sessionUsesTls(pool)).to.equal(false);
    expect(pool.stats()).to.include({ createdCount: 1, connectErrorCount: 0 });
  });
});
