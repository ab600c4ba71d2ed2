import { expect } from 'chai';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import { poolConfig } from '../../support/pool-config.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { Admin, CapturingLogger, waitFor } from './pool-test-kit.js';

describe('pool and broken connections', () => {
  let db: TestDatabase;
  let admin: Admin;
  const pools: InstrumentedPool[] = [];

  before(async () => {
    db = await createTestDatabase('pool broken');
    admin = await Admin.connect(db);
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 1000 })));
  });
  after(async () => {
    await admin.end();
    await db.drop();
  });

  it('survives pg_terminate_backend of an idle connection: no uncaught exception, counted, replaced', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const logger = new CapturingLogger();
      const idleErrors: (number | undefined)[] = [];
      const config = poolConfig(db, { maxConns: 2 });
      const pool = createPool(config, { logger, observer: { onIdleError: (event) => void idleErrors.push(event.connectionId) } });
      pools.push(pool);
      const connection = await pool.acquire();
      const { id, processId } = connection;
      connection.release();
      expect(await admin.terminate(processId as number)).to.equal(true);
      await waitFor('the idle error to be counted', () => pool.stats().idleErrorCount === 1);
      await waitFor('the removal to be counted', () => pool.stats().destroyedCount.error === 1);
      expect(idleErrors).to.deep.equal([id]);
      expect(logger.find('warn', 'idle connection failed')).to.have.length(1);
      expect(pool.stats()).to.include({ total: 0, idle: 0 });

      const next = await pool.acquire();
      expect(next.processId).to.be.a('number').and.not.equal(processId);
      expect((await next.client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
      next.release();
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('destroys a connection released with a fatal error instead of reusing it', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const pool = createPool(poolConfig(db, { maxConns: 2 }));
      pools.push(pool);
      const connection = await pool.acquire();
      const pid = connection.processId;
      await admin.terminate(pid as number);
      let failure: unknown;
      await connection.client.query('select 1').catch((error: unknown) => {
        failure = error;
      });
      expect(failure).to.be.instanceOf(Error);
      connection.release(failure);
      await waitFor('the broken connection to be destroyed', () => pool.stats().destroyedCount.error === 1);
      const next = await pool.acquire();
      expect(next.processId).to.not.equal(pid);
      expect((await next.client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
      next.release();
      expect(pool.stats().idleErrorCount).to.equal(0); // it was borrowed, not idle
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('destroys a borrowed connection whose client emitted an error even when released without one', async () => {
    const pool = createPool(poolConfig(db, { maxConns: 2 }));
    pools.push(pool);
    const connection = await pool.acquire();
    const pid = connection.processId;
    await admin.terminate(pid as number);
    await waitFor('the client to notice', async () => {
      try {
        await connection.client.query('select 1');
        return false;
      } catch {
        return true;
      }
    });
    connection.release(); // the caller forgot the error
    await waitFor('the broken connection to be destroyed', () => pool.stats().destroyedCount.error === 1);
    const next = await pool.acquire();
    expect(next.processId).to.not.equal(pid);
    next.release();
  });

  it('keeps a connection released with an ordinary SQL error', async () => {
    const pool = createPool(poolConfig(db, { maxConns: 2 }));
    pools.push(pool);
    const connection = await pool.acquire();
    let failure: unknown;
    await connection.client.query('select * from no_such_table').catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.have.property('code', '42P01');
    connection.release(failure);
    const next = await pool.acquire();
    expect(next.id).to.equal(connection.id);
    next.release();
    expect(pool.stats().destroyedCount.error).to.equal(0);
    let viaQuery: unknown;
    await pool.query('select * from no_such_table').catch((error: unknown) => {
      viaQuery = error;
    });
    expect(viaQuery).to.have.property('code', '42P01');
    expect(pool.stats()).to.include({ total: 1, idle: 1, active: 0 });
  });

  it('destroys a connection released inside a transaction, so no one inherits it', async () => {
    const logger = new CapturingLogger();
    const pool = createPool(poolConfig(db, { maxConns: 2 }), { logger });
    pools.push(pool);
    const connection = await pool.acquire();
    await connection.client.query('begin');
    connection.release();
    await waitFor('the connection to be destroyed', () => pool.stats().destroyedCount.error === 1);
    expect(logger.find('warn', 'inside a transaction')).to.have.length(1);
    const next = await pool.acquire();
    expect(next.id).to.not.equal(connection.id);
    const { rows } = await next.client.query<{ tx: boolean }>("select now() = statement_timestamp() as tx");
    expect(rows[0]?.tx).to.equal(true); // not inside a transaction
    next.release();
  });

  it('ignores a second release of the same connection', async () => {
    const pool = createPool(poolConfig(db, { maxConns: 1 }));
    pools.push(pool);
    const connection = await pool.acquire();
    connection.release();
    connection.release();
    connection.release(new Error('Connection terminated'));
    expect(pool.stats()).to.include({ active: 0, idle: 1 });
    expect(pool.stats().destroyedCount.error).to.equal(0);
    const again = await pool.acquire();
    expect(again.id).to.equal(connection.id);
    again.release();
  });
});
