import { expect } from 'chai';
import { isRetryableConnectFailure } from '../../../src/dialect/connection-source.js';
import { AcquireTimeoutError } from '../../../src/errors/acquire-timeout-error.js';
import { CircuitOpenError } from '../../../src/errors/circuit-open-error.js';
import { ConfigError } from '../../../src/errors/config-error.js';
import { ConnectionError } from '../../../src/errors/connection-error.js';
import { PoolClosedError } from '../../../src/errors/pool-closed-error.js';
import { QueryTimeoutError } from '../../../src/errors/query-timeout-error.js';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('isRetryableConnectFailure', () => {
  const retryable: ReadonlyArray<[string, unknown]> = [
    ['ECONNREFUSED', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['ECONNRESET', withCode('read ECONNRESET', 'ECONNRESET')],
    ['EAI_AGAIN', withCode('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN')],
    ['53300 too many connections', withCode('sorry, too many clients already', '53300')],
    ['57P03 cannot connect now', withCode('the database system is starting up', '57P03')],
    ['08001 unable to establish a connection', withCode('could not connect', '08001')],
    ['ConnectionError wrapping ECONNREFUSED', new ConnectionError(withCode('refused', 'ECONNREFUSED'), { retryable: true })],
    ['node-postgres connect timeout', new Error('Connection terminated due to connection timeout')],
  ];
  const notRetryable: ReadonlyArray<[string, unknown]> = [
    ['CircuitOpenError', new CircuitOpenError({ name: 'db', retryAfterMs: 500 }, withCode('refused', 'ECONNREFUSED'))],
    [
      'AcquireTimeoutError',
      new AcquireTimeoutError({ poolName: 'db', timeoutMs: 100, max: 2, total: 2, active: 2, idle: 0, waiting: 3 }),
    ],
    ['PoolClosedError', new PoolClosedError('db')],
    ['ConfigError', new ConfigError([{ field: 'port', message: 'must be an integer' }])],
    ['28P01 authentication failed', withCode('password authentication failed for user "app"', '28P01')],
    ['3D000 unknown database', withCode('database "nope" does not exist', '3D000')],
    ['23505 unique violation', withCode('duplicate key', '23505')],
    ['40001 serialization failure', withCode('could not serialize access', '40001')],
    ['QueryTimeoutError', new QueryTimeoutError(1000)],
    ['a plain Error', new Error('boom')],
    ['an AbortError', new DOMException('This operation was aborted', 'AbortError')],
    ['undefined', undefined],
  ];

  for (const [name, error] of retryable) {
    it(`retries ${name}`, () => {
      expect(isRetryableConnectFailure(error)).to.equal(true);
    });
  }
  for (const [name, error] of notRetryable) {
    it(`does not retry ${name}`, () => {
      expect(isRetryableConnectFailure(error)).to.equal(false);
    });
  }
});
