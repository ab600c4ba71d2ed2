import { expect } from 'chai';
import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { InterceptedResult, QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { InterceptorChain, type Terminal } from '../../../src/dialect/interceptor-chain.js';
import { QueryContextImpl, type ConnectionSession } from '../../../src/dialect/query-context.js';
import type { Logger } from '../../../src/observability/logger.js';

interface LogLine {
  readonly level: keyof Logger;
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: keyof Logger) =>
    (message: string, meta?: Record<string, unknown>): void =>
      void lines.push({ level, message, meta });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

const session: ConnectionSession = Object.freeze({
  id: 1,
  processId: 4242,
  state: new Map<string | symbol, unknown>(),
  client: {} as pg.PoolClient,
});

function context(sql = 'insert into t values (1)', mode: 'execute' | 'stream' = 'execute'): QueryContextImpl {
  return new QueryContextImpl({ compiledQuery: CompiledQuery.raw(sql), mode, session, inTransaction: false, signal: undefined });
}

const ROWS: InterceptedResult = { rows: [{ id: 1 }], numAffectedRows: 1n };
const succeed: Terminal = async () => ROWS;

/** A server error, as node-postgres would reject with. */
class FakeDatabaseError extends Error {
  readonly code = '23505';
}

async function outcome(work: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await work };
  } catch (error) {
    return { error };
  }
}

describe('dialect: interceptor chain (after/error hooks only observe)', () => {
  let lines: LogLine[];
  let logger: Logger;

  beforeEach(() => {
    lines = [];
    logger = recordingLogger(lines);
  });

  it('keeps the result when an after hook throws, synchronously or asynchronously', async () => {
    const chain = InterceptorChain.of(
      [
        { name: 'sync', after: () => { throw new Error('sync after failed'); } },
        { name: 'async', after: async () => { throw new Error('async after failed'); } },
      ],
      logger,
    );
    const result = await chain!.execute(context(), succeed);
    expect(result).to.equal(ROWS);
    expect(lines.map((l) => [l.level, l.meta?.interceptor, l.meta?.hook])).to.deep.equal([
      ['warn', 'async', 'after'],
      ['warn', 'sync', 'after'],
    ]);
    expect(String(lines[0]?.meta?.error)).to.include('async after failed');
  });

  it('keeps the original error when an error hook throws, and outer hooks see that original error', async () => {
    const failure = new FakeDatabaseError('duplicate key value violates unique constraint');
    const seen: unknown[] = [];
    const chain = InterceptorChain.of(
      [
        { name: 'outer', error: (_ctx, error) => void seen.push(error) },
        { name: 'inner', error: () => { throw new Error('error hook failed'); } },
      ],
      logger,
    );
    const { error } = await outcome(chain!.execute(context(), () => Promise.reject(failure)));
    expect(error).to.equal(failure);
    expect(seen).to.deep.equal([failure]);
    expect(lines.map((l) => [l.level, l.meta?.interceptor, l.meta?.hook])).to.deep.equal([['warn', 'inner', 'error']]);
  });

  it('warns once per hook of an interceptor, then logs at debug level', async () => {
    const chain = InterceptorChain.of([{ after: () => Promise.reject(new Error('always')) }], logger);
    for (let i = 0; i < 3; i += 1) expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
    expect(lines.map((l) => [l.level, l.meta?.interceptor])).to.deep.equal([
      ['warn', 'interceptor #0'],
      ['debug', 'interceptor #0'],
      ['debug', 'interceptor #0'],
    ]);
  });

  it('keeps the outcome when the logger itself throws', async () => {
    const throwing: Logger = {
      error: () => { throw new Error('logger down'); },
      warn: () => { throw new Error('logger down'); },
      info: () => { throw new Error('logger down'); },
      debug: () => { throw new Error('logger down'); },
    };
    const chain = InterceptorChain.of([{ after: () => { throw new Error('hook'); } }], throwing);
    expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
  });

  it('still lets before veto the statement and execute change the outcome', async () => {
    let reached = false;
    const veto = InterceptorChain.of([{ before: () => { throw new Error('vetoed'); } }], logger);
    const vetoed = await outcome(veto!.execute(context(), async () => ((reached = true), ROWS)));
    expect((vetoed.error as Error).message).to.equal('vetoed');
    expect(reached).to.equal(false);
    const replaced = InterceptorChain.of([{ execute: async () => ({ rows: [{ cached: true }] }) }], logger);
    expect(await replaced!.execute(context(), succeed)).to.deep.equal({ rows: [{ cached: true }] });
    const failing = InterceptorChain.of([{ execute: async (_ctx, next) => { await next(); throw new Error('execute failed'); } }], logger);
    expect(((await outcome(failing!.execute(context(), succeed))).error as Error).message).to.equal('execute failed');
    expect(lines).to.deep.equal([]);
  });

  it('waits for asynchronous observer hooks before the statement settles', async () => {
    const order: string[] = [];
    const chain = InterceptorChain.of(
      [
        {
          after: async () => {
            await new Promise((resolve) => setImmediate(resolve));
            order.push('after');
          },
        },
      ],
      logger,
    );
    await chain!.execute(context(), succeed);
    order.push('settled');
    expect(order).to.deep.equal(['after', 'settled']);
  });

  it('treats stream after/error hooks as observers too', async () => {
    const chain = InterceptorChain.of(
      [{ name: 'stream-observer', after: () => { throw new Error('a'); }, error: async () => { throw new Error('e'); } }],
      logger,
    );
    const ctx = context('select 1', 'stream');
    const entered = await chain!.enterStream(ctx);
    await chain!.completeStream(ctx, entered, 5);
    expect(ctx.rowCount).to.equal(5);
    await chain!.failStream(context('select 1', 'stream'), entered, new Error('stream failed'));
    expect(lines.map((l) => [l.level, l.meta?.hook])).to.deep.equal([
      ['warn', 'after'],
      ['warn', 'error'],
    ]);
  });

  it('rejects interceptors that are not objects and hooks that are not functions', () => {
    expect(() => InterceptorChain.of([null as unknown as QueryInterceptor], logger)).to.throw(TypeError, 'interceptor #0 is not an object');
    expect(() => InterceptorChain.of([{}, { after: 'log' } as unknown as QueryInterceptor], logger)).to.throw(
      TypeError,
      'interceptor #1: after must be a function',
    );
    expect(InterceptorChain.of([], logger)).to.equal(undefined);
    expect(InterceptorChain.of(undefined, logger)).to.equal(undefined);
  });
});
