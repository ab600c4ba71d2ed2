import { expect } from 'chai';
import { AcquireTimeoutError } from '../../../src/errors/acquire-timeout-error.js';
import { CircuitOpenError } from '../../../src/errors/circuit-open-error.js';
import { ConfigError } from '../../../src/errors/config-error.js';
import { ConnectionError } from '../../../src/errors/connection-error.js';
import type { ErrorKind } from '../../../src/errors/error-kind.js';
import { PoolClosedError } from '../../../src/errors/pool-closed-error.js';
import { QueryTimeoutError } from '../../../src/errors/query-timeout-error.js';
import { classifyError } from '../../../src/resilience/classify-error.js';

function withCode(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

const acquireTimeout = (): AcquireTimeoutError =>
  new AcquireTimeoutError({ poolName: 'p', timeoutMs: 100, max: 2, total: 2, active: 2, idle: 0, waiting: 3 });

describe('classifyError: SQLSTATE table', () => {
  const cases: ReadonlyArray<[code: string, kind: ErrorKind, retryable: boolean, usable: boolean]> = [
    ['08006', 'connection', false, false],
    ['08001', 'connection', true, false],
    ['08P01', 'connection', false, false],
    ['57P01', 'connection', false, false],
    ['57P02', 'connection', false, false],
    ['57P03', 'connection', true, false],
    ['53300', 'connection', true, false],
    ['57014', 'timeout', false, true],
    ['55P03', 'timeout', false, true],
    ['25P03', 'timeout', false, false],
    ['40001', 'serialization', true, true],
    ['40P01', 'serialization', true, true],
    ['23505', 'constraint', false, true],
    ['23503', 'constraint', false, true],
    ['22012', 'data', false, true],
    ['22P02', 'data', false, true],
    ['42601', 'programming', false, true],
    ['42P01', 'programming', false, true],
    ['0A000', 'programming', false, true],
    ['25P02', 'programming', false, true],
    ['53100', 'resources', false, true],
    ['53200', 'resources', false, true],
    ['28P01', 'configuration', false, true],
    ['3D000', 'configuration', false, true],
    ['XX000', 'internal', false, true],
    ['P0001', 'internal', false, true],
  ];
  for (const [code, kind, retryable, usable] of cases) {
    it(`${code} → ${kind}${retryable ? ', retryable' : ''}${usable ? '' : ', connection unusable'}`, () => {
      expect(classifyError(withCode('server said no', code))).to.deep.equal({ kind, code, retryable, connectionUsable: usable });
    });
  }

  it('follows the severity for connectionUsable: a FATAL authentication error leaves no usable connection', () => {
    expect(classifyError(withCode('password authentication failed', '28P01', { severity: 'FATAL' }))).to.deep.equal({
      kind: 'configuration',
      code: '28P01',
      retryable: false,
      connectionUsable: false,
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(classifyError(withCode('x', '23505')))).to.equal(true);
  });
});

describe('classifyError: client-side connection failures', () => {
  for (const code of ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']) {
    it(`${code} → connection, not retryable, connection unusable`, () => {
      expect(classifyError(withCode(`socket ${code}`, code))).to.deep.equal({
        kind: 'connection',
        code,
        retryable: false,
        connectionUsable: false,
      });
    });
  }

  it('ECONNREFUSED → connection, retryable (nothing reached the server)', () => {
    expect(classifyError(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'))).to.deep.equal({
      kind: 'connection',
      code: 'ECONNREFUSED',
      retryable: true,
      connectionUsable: false,
    });
  });

  it("recognises node-postgres' code-less connection messages", () => {
    for (const message of ['Connection terminated unexpectedly', 'Connection terminated', 'Client was closed and is not queryable']) {
      expect(classifyError(new Error(message)), message).to.deep.equal({
        kind: 'connection',
        code: undefined,
        retryable: false,
        connectionUsable: false,
      });
    }
  });

  it('does not take a five-letter socket code for an SQLSTATE', () => {
    expect(classifyError(withCode('write EPIPE', 'EPIPE')).kind).to.equal('connection');
  });
});

describe('classifyError: cause chains', () => {
  it('looks through wrappers to the server error', () => {
    const server = withCode('duplicate key value violates unique constraint', '23505');
    const wrapped = new Error('insert failed', { cause: new Error('in repository', { cause: server }) });
    expect(classifyError(wrapped)).to.deep.equal({ kind: 'constraint', code: '23505', retryable: false, connectionUsable: true });
  });

  it('looks through wrappers to a socket error, and the connection is unusable', () => {
    const wrapped = new Error('query failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') });
    expect(classifyError(wrapped)).to.deep.equal({ kind: 'connection', code: 'ECONNRESET', retryable: false, connectionUsable: false });
  });

  it('lets the outermost recognised error decide', () => {
    const timeout = new QueryTimeoutError(250, withCode('canceling statement due to user request', '57014'));
    expect(classifyError(new Error('wrapper', { cause: timeout }))).to.deep.equal({
      kind: 'timeout',
      code: 'QUERY_TIMEOUT',
      retryable: false,
      connectionUsable: true,
    });
  });

  it('looks into AggregateError.errors', () => {
    const aggregate = new AggregateError([new Error('unrelated'), withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'all failed');
    expect(classifyError(aggregate)).to.deep.equal({ kind: 'connection', code: 'ECONNREFUSED', retryable: true, connectionUsable: false });
  });

  it('stops after a few levels', () => {
    let error: Error = withCode('deep', '40001');
    for (let i = 0; i < 10; i += 1) error = new Error(`level ${i}`, { cause: error });
    expect(classifyError(error)).to.deep.equal({ kind: 'internal', code: undefined, retryable: false, connectionUsable: true });
  });

  it('survives a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classifyError(a).kind).to.equal('internal');
  });
});

describe('classifyError: our own typed errors', () => {
  it('AcquireTimeoutError → timeout, retryable', () => {
    expect(classifyError(acquireTimeout())).to.deep.equal({ kind: 'timeout', code: 'ACQUIRE_TIMEOUT', retryable: true, connectionUsable: true });
  });

  it('PoolClosedError → closed', () => {
    expect(classifyError(new PoolClosedError('p'))).to.deep.equal({ kind: 'closed', code: 'POOL_CLOSED', retryable: false, connectionUsable: true });
  });

  it('ConfigError → configuration', () => {
    const error = new ConfigError([{ field: 'PGPORT', message: 'not a number' }]);
    expect(classifyError(error)).to.deep.equal({ kind: 'configuration', code: 'INVALID_CONFIG', retryable: false, connectionUsable: true });
  });

  it('QueryTimeoutError → timeout, not retryable', () => {
    const error = new QueryTimeoutError(1500);
    expect(error.timeoutMs).to.equal(1500);
    expect(error.message).to.include('1500 ms');
    expect(classifyError(error)).to.deep.equal({ kind: 'timeout', code: 'QUERY_TIMEOUT', retryable: false, connectionUsable: true });
  });

  it('CircuitOpenError → connection, not retryable, carries retryAfterMs', () => {
    const error = new CircuitOpenError({ name: 'main', retryAfterMs: 1234.2 });
    expect(error.retryAfterMs).to.equal(1235);
    expect(error.breakerName).to.equal('main');
    expect(error.message).to.include('"main"').and.include('1235 ms');
    expect(classifyError(error)).to.include({ kind: 'connection', code: 'CIRCUIT_OPEN', retryable: false });
  });

  it('ConnectionError takes the code of what it wraps and is retryable only when told', () => {
    const refused = withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
    const atConnect = new ConnectionError(refused, { context: 'connecting to 127.0.0.1:5432', retryable: true });
    expect(atConnect.cause).to.equal(refused);
    expect(atConnect.message).to.equal('connecting to 127.0.0.1:5432 (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5432)');
    expect(classifyError(atConnect)).to.deep.equal({ kind: 'connection', code: 'ECONNREFUSED', retryable: true, connectionUsable: false });
    const lost = new ConnectionError(new Error('Connection terminated unexpectedly'));
    expect(lost.code).to.equal('CONNECTION_FAILED');
    expect(classifyError(lost)).to.deep.equal({ kind: 'connection', code: 'CONNECTION_FAILED', retryable: false, connectionUsable: false });
  });

  it('ConnectionError never repeats a password from the wrapped message', () => {
    const cause = new Error("could not connect to postgres://alert:s3cr3t@db:5432/x with password=hunter2 and password='a b'");
    const error = new ConnectionError(cause);
    expect(error.message).not.to.include('s3cr3t').and.not.to.include('hunter2').and.not.to.include("'a b'");
    expect(error.message).to.include('postgres://alert:***@db:5432/x');
  });
});

describe('classifyError: unknown values', () => {
  for (const value of [undefined, null, 'boom', 42, {}, [], new Error('plain'), Symbol('s')]) {
    it(`${String(Array.isArray(value) ? '[]' : typeof value === 'symbol' ? 'symbol' : value)} → internal`, () => {
      expect(classifyError(value)).to.deep.equal({ kind: 'internal', code: undefined, retryable: false, connectionUsable: true });
    });
  }

  it('keeps an unrecognised string code', () => {
    expect(classifyError(withCode('bad argument', 'ERR_INVALID_ARG_TYPE'))).to.deep.equal({
      kind: 'internal',
      code: 'ERR_INVALID_ARG_TYPE',
      retryable: false,
      connectionUsable: true,
    });
  });
});
