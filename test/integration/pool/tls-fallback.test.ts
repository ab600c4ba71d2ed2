import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
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

  it('allow: plaintext first, which a server without TLS requirements accepts', async () => {
    const pool = createPool(poolConfig(db, { sslMode: 'allow' }));
    pools.push(pool);
    expect(await sessionUsesTls(pool)).to.equal(false);
    expect(pool.stats()).to.include({ createdCount: 1, connectErrorCount: 0 });
  });
});
