import { expect } from 'chai';
import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { InterceptedResult, QueryInterceptor } from '../../../src/dialect/interceptor.js';
import { HOOK_FAILURE_WARN_INTERVAL_MS, InterceptorChain, safeDescribe, type Terminal } from '../../../src/dialect/interceptor-chain.js';
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

  it('warns the first time, then at most once per interval per hook with the count of failures since', async () => {
    let now = 1_000;
    const chain = InterceptorChain.of(
      [
        { name: 'audit', after: () => Promise.reject(new Error('always')), error: () => { throw new Error('also'); } },
        { name: 'other', after: () => { throw new Error('other'); } },
      ],
      logger,
      { now: () => now },
    );
    const run = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i += 1) expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
    };
    await run(5); // first failure of each after hook warns; the next 4 are only counted
    expect(lines.map((l) => [l.level, l.meta?.interceptor, l.meta?.hook, l.meta?.failures])).to.deep.equal([
      ['warn', 'other', 'after', 1],
      ['warn', 'audit', 'after', 1],
    ]);
    expect(lines[0]?.meta?.intervalMs).to.equal(HOOK_FAILURE_WARN_INTERVAL_MS);
    now += HOOK_FAILURE_WARN_INTERVAL_MS - 1;
    await run(3); // still inside the interval: 7 suppressed each
    expect(lines).to.have.length(2);
    now += 1;
    await run(2); // the first failure after the interval summarises 7 + 1; the next is counted again
    expect(lines.slice(2).map((l) => [l.level, l.meta?.interceptor, l.meta?.hook, l.meta?.failures])).to.deep.equal([
      ['warn', 'other', 'after', 8],
      ['warn', 'audit', 'after', 8],
    ]);
    // a different hook of the same interceptor has its own record
    await outcome(chain!.execute(context(), () => Promise.reject(new Error('statement failed'))));
    expect(lines.slice(4).map((l) => [l.meta?.interceptor, l.meta?.hook, l.meta?.failures])).to.deep.equal([['audit', 'error', 1]]);
    now += HOOK_FAILURE_WARN_INTERVAL_MS;
    await run(1);
    expect(lines.slice(5).map((l) => [l.meta?.interceptor, l.meta?.failures])).to.deep.equal([
      ['other', 2],
      ['audit', 2],
    ]);
    expect(lines.every((l) => l.level === 'warn')).to.equal(true);
  });

  it('keeps the outcome whatever an observer hook throws, even values that cannot be described', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwingMessage = new Error('x');
    Object.defineProperty(throwingMessage, 'message', { get: () => { throw new Error('message getter'); } });
    const throwingName = new Error('y');
    Object.defineProperty(throwingName, 'name', { get: () => { throw new Error('name getter'); } });
    const throwingToString = { toString: () => { throw new Error('toString'); } };
    const values: unknown[] = [
      Object.create(null),
      throwingMessage,
      throwingName,
      throwingToString,
      revoked.proxy,
      Symbol('s'),
      undefined,
    ];
    for (const value of values) {
      lines.length = 0;
      const chain = InterceptorChain.of(
        [
          { name: 'sync', after: () => { throw value; }, error: () => { throw value; } },
          { name: 'async', after: () => Promise.reject(value), error: () => Promise.reject(value) },
        ],
        logger,
      );
      expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
      const failure = new FakeDatabaseError('boom');
      expect((await outcome(chain!.execute(context(), () => Promise.reject(failure)))).error).to.equal(failure);
      expect(lines).to.have.length(4);
      for (const line of lines) expect(line.meta?.error).to.be.a('string');
    }
    expect(safeDescribe(Object.create(null))).to.equal('unprintable [object Object]');
    expect(safeDescribe(throwingMessage)).to.equal('unprintable [object Error]');
    expect(safeDescribe(revoked.proxy)).to.equal('unprintable value');
    expect(safeDescribe(new TypeError('t'))).to.equal('TypeError: t');
    expect(safeDescribe('plain')).to.equal('plain');
  });

  it('keeps the outcome when an observer hook returns a thenable whose then getter or then method throws', async () => {
    const badGetter = { get then(): never { throw new Error('then getter'); } };
    const badThen = { then: () => { throw new Error('then method'); } };
    for (const returned of [badGetter, badThen]) {
      lines.length = 0;
      const chain = InterceptorChain.of([{ after: () => returned as unknown as Promise<void> }], logger);
      expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
      expect(lines.map((l) => l.level)).to.deep.equal(['warn']);
    }
  });

  it('keeps the outcome when the clock itself throws', async () => {
    const chain = InterceptorChain.of([{ after: () => { throw new Error('hook'); } }], logger, {
      now: () => { throw new Error('clock'); },
    });
    expect(await chain!.execute(context(), succeed)).to.equal(ROWS);
  });

  it('rejects a statement before the chain: only the error hooks run, innermost first', async () => {
    const calls: string[] = [];
    const hooks = (name: string): QueryInterceptor => ({
      name,
      before: () => void calls.push(`${name}.before`),
      execute: async () => (calls.push(`${name}.execute`), ROWS),
      after: () => void calls.push(`${name}.after`),
      error: (ctx, error) => void calls.push(`${name}.error:${(error as Error).message}:${ctx.durationMs !== undefined}`),
    });
    const chain = InterceptorChain.of([hooks('outer'), { name: 'no-error-hook' }, hooks('inner')], logger);
    const refused = new Error('the connection was already released');
    await chain!.reject(context(), refused);
    expect(calls).to.deep.equal([
      'inner.error:the connection was already released:true',
      'outer.error:the connection was already released:true',
    ]);
    const failing = InterceptorChain.of([{ error: () => { throw Object.create(null); } }], logger);
    await failing!.reject(context(), refused); // never throws
    expect(lines.map((l) => l.meta?.hook)).to.deep.equal(['error']);
  });

  it('rejects an invalid warning interval', () => {
    expect(() => InterceptorChain.of([{}], logger, { warnIntervalMs: -1 })).to.throw(TypeError, 'warnIntervalMs');
    expect(() => InterceptorChain.of([{}], logger, { warnIntervalMs: Number.NaN })).to.throw(TypeError, 'warnIntervalMs');
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
