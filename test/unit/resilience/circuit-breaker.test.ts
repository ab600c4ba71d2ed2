import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors/circuit-open-error.js';
import { ConnectionError } from '../../../src/errors/connection-error.js';
import {
  CIRCUIT_BREAKER_DEFAULTS,
  createCircuitBreaker,
  isBreakerFailure,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitStateChange,
} from '../../../src/resilience/circuit-breaker.js';
import { failureOf } from '../../support/failure.js';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const refused = (): Error => withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets pending promise callbacks and timers run a few times. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Polls `predicate` until it holds; fails after a generous bound (never a timing assertion). */
async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (predicate()) return;
    await sleep(2);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Fails `count` times with a refused connection. */
async function failConnecting(breaker: CircuitBreaker, count: number): Promise<Error[]> {
  const errors: Error[] = [];
  for (let i = 0; i < count; i++) {
    const error = refused();
    errors.push(error);
    const thrown = await failureOf(breaker.execute(async () => Promise.reject(error)));
    expect(thrown).to.equal(error);
  }
  return errors;
}

function recordChanges(breaker: CircuitBreaker): CircuitStateChange[] {
  const changes: CircuitStateChange[] = [];
  breaker.onStateChange((change) => void changes.push(change));
  return changes;
}

const transitions = (changes: readonly CircuitStateChange[]): string[] => changes.map((change) => `${change.from}->${change.to}`);

describe('createCircuitBreaker', () => {
  it('starts closed and runs work, returning its value', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 2, halfOpenAfterMs: 50 });
    expect(breaker.name).to.equal('db');
    expect(breaker.state).to.equal('closed');
    expect(breaker.retryAfterMs()).to.equal(0);
    expect(await breaker.execute(async () => 42)).to.equal(42);
    expect(breaker.state).to.equal('closed');
  });

  it('has defaults: name "default", threshold 5, halfOpenAfterMs 1000', async () => {
    expect(CIRCUIT_BREAKER_DEFAULTS).to.deep.equal({ threshold: 5, halfOpenAfterMs: 1000 });
    const breaker = createCircuitBreaker();
    expect(breaker.name).to.equal('default');
    await failConnecting(breaker, 4);
    expect(breaker.state).to.equal('closed');
    await failConnecting(breaker, 1);
    expect(breaker.state).to.equal('open');
    expect(breaker.retryAfterMs()).to.be.above(0).and.at.most(1000);
  });

  it('opens after `threshold` consecutive connection failures', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 3, halfOpenAfterMs: 60_000 });
    await failConnecting(breaker, 2);
    expect(breaker.state).to.equal('closed');
    await failConnecting(breaker, 1);
    expect(breaker.state).to.equal('open');
    expect(breaker.retryAfterMs()).to.be.above(0).and.at.most(60_000);
  });

  it('while open, rejects with CircuitOpenError without calling the work', async () => {
    const breaker = createCircuitBreaker({ name: 'orders-db', threshold: 2, halfOpenAfterMs: 60_000 });
    const errors = await failConnecting(breaker, 2);
    let calls = 0;
    const error = await failureOf(
      breaker.execute(async () => {
        calls++;
        return 'ran';
      }),
    );
    expect(calls).to.equal(0);
    expect(error).to.be.instanceOf(CircuitOpenError);
    const open = error as CircuitOpenError;
    expect(open.breakerName).to.equal('orders-db');
    expect(open.retryAfterMs).to.be.above(0).and.at.most(60_000);
    expect(open.code).to.equal('CIRCUIT_OPEN');
    expect(open.cause).to.equal(errors[1]);
    expect(open.message).to.include('orders-db');
    expect(breaker.state).to.equal('open');
  });

  it('does not count non-connection errors, nor 53300 too many connections', async () => {
    const breaker = createCircuitBreaker({ threshold: 2, halfOpenAfterMs: 60_000 });
    const failures: unknown[] = [
      withCode('duplicate key', '23505'),
      new Error('plain'),
      withCode('too many connections', '53300'),
      withCode('serialization failure', '40001'),
      withCode('syntax error', '42601'),
      'not even an error',
    ];
    for (let round = 0; round < 3; round++) {
      for (const failure of failures) {
        const thrown = await breaker.execute(async () => Promise.reject(failure)).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(thrown).to.equal(failure);
      }
    }
    expect(breaker.state).to.equal('closed');
    expect(breaker.retryAfterMs()).to.equal(0);
  });

  it('resets the consecutive count on a success', async () => {
    const breaker = createCircuitBreaker({ threshold: 3, halfOpenAfterMs: 60_000 });
    await failConnecting(breaker, 2);
    await breaker.execute(async () => 'ok');
    await failConnecting(breaker, 2);
    expect(breaker.state).to.equal('closed');
    await breaker.execute(async () => 'ok');
    await failConnecting(breaker, 2);
    expect(breaker.state).to.equal('closed');
    await failConnecting(breaker, 1);
    expect(breaker.state).to.equal('open');
  });

  it('reports half-open after halfOpenAfterMs and closes on a successful probe', async () => {
    const breaker = createCircuitBreaker({ threshold: 1, halfOpenAfterMs: 20 });
    await failConnecting(breaker, 1);
    expect(breaker.state).to.not.equal('closed');
    await waitFor(() => breaker.state === 'half-open', 'half-open');
    expect(breaker.retryAfterMs()).to.equal(0);
    let probes = 0;
    const value = await breaker.execute(async () => {
      probes++;
      return 'probe ok';
    });
    expect(value).to.equal('probe ok');
    expect(probes).to.equal(1);
    expect(breaker.state).to.equal('closed');
    expect(breaker.retryAfterMs()).to.equal(0);
  });

  it('reopens when the probe fails', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 1, halfOpenAfterMs: 20 });
    const changes = recordChanges(breaker);
    await failConnecting(breaker, 1);
    await waitFor(() => breaker.state === 'half-open', 'half-open');
    let probes = 0;
    const probeFailure = refused();
    const thrown = await failureOf(
      breaker.execute(async () => {
        probes++;
        throw probeFailure;
      }),
    );
    // the probe's own error, not CircuitOpenError
    expect(thrown).to.equal(probeFailure);
    expect(probes).to.equal(1);
    expect(transitions(changes)).to.deep.equal(['closed->open', 'open->half-open', 'half-open->open']);
    expect(changes[2]?.error).to.equal(probeFailure);
    // and it half-opens again later, after which a successful probe closes it
    await waitFor(() => breaker.state === 'half-open', 'half-open again');
    await breaker.execute(async () => 'ok');
    expect(breaker.state).to.equal('closed');
  });

  it('reopens when the probe ends without an answer from the server (aborted, pool timeout), but closes on a server answer', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 1, halfOpenAfterMs: 20 });
    await failConnecting(breaker, 1);
    for (const nothingProven of [new DOMException('caller left', 'AbortError'), withCode('timed out waiting for a connection', 'ACQUIRE_TIMEOUT')]) {
      await waitFor(() => breaker.state === 'half-open', 'half-open');
      expect(await failureOf(breaker.execute(async () => Promise.reject(nothingProven)))).to.equal(nothingProven);
      expect(breaker.state, String(nothingProven)).to.equal('open');
    }
    // a wrong password is an answer: the server is back
    await waitFor(() => breaker.state === 'half-open', 'half-open');
    const answered = withCode('password authentication failed', '28P01');
    expect(await failureOf(breaker.execute(async () => Promise.reject(answered)))).to.equal(answered);
    expect(breaker.state).to.equal('closed');
  });

  it('fails concurrent calls fast while the single probe is running', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 1, halfOpenAfterMs: 20 });
    await failConnecting(breaker, 1);
    await waitFor(() => breaker.state === 'half-open', 'half-open');

    let releaseProbe: (value: string) => void = () => undefined;
    let probes = 0;
    const probe = breaker.execute(
      () =>
        new Promise<string>((resolve) => {
          probes++;
          releaseProbe = resolve;
        }),
    );
    let otherCalls = 0;
    let otherOutcome: { error: unknown } | { value: unknown } | undefined;
    const other = breaker
      .execute(async () => {
        otherCalls++;
        return 'other';
      })
      .then(
        (value) => void (otherOutcome = { value }),
        (error: unknown) => void (otherOutcome = { error }),
      );
    try {
      await settle();
      expect(probes).to.equal(1);
      expect(breaker.state).to.equal('half-open');
      expect(otherOutcome, 'the concurrent call is still waiting for the probe instead of failing fast').to.not.equal(undefined);
      expect(otherOutcome).to.have.property('error').that.is.instanceOf(CircuitOpenError);
      expect(otherCalls).to.equal(0);
    } finally {
      releaseProbe('probe ok');
      await probe;
      await other;
    }
    expect(breaker.state).to.equal('closed');
  });

  it('tells listeners of every change in order, with the opening error; unsubscribing works', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 2, halfOpenAfterMs: 20 });
    const changes = recordChanges(breaker);
    const early: CircuitStateChange[] = [];
    const unsubscribe = breaker.onStateChange((change) => {
      early.push(change);
      unsubscribe();
    });
    const errors = await failConnecting(breaker, 2);
    await waitFor(() => breaker.state === 'half-open', 'half-open');
    await breaker.execute(async () => 'ok');

    expect(changes).to.deep.equal([
      { breaker: 'db', from: 'closed', to: 'open', error: errors[1] },
      { breaker: 'db', from: 'open', to: 'half-open' },
      { breaker: 'db', from: 'half-open', to: 'closed' },
    ]);
    expect(changes[1]).to.not.have.property('error');
    expect(changes[2]).to.not.have.property('error');
    expect(changes.every((change) => Object.isFrozen(change))).to.equal(true);
    expect(early).to.have.length(1);
    expect(early[0]).to.equal(changes[0]);
  });

  it('an unsubscribed listener hears nothing more', async () => {
    const breaker = createCircuitBreaker({ threshold: 1, halfOpenAfterMs: 60_000 });
    const heard: CircuitStateChange[] = [];
    const unsubscribe = breaker.onStateChange((change) => void heard.push(change));
    unsubscribe();
    await failConnecting(breaker, 1);
    expect(breaker.state).to.equal('open');
    expect(heard).to.deep.equal([]);
  });

  it('is not broken by a throwing listener', async () => {
    const breaker = createCircuitBreaker({ name: 'db', threshold: 1, halfOpenAfterMs: 20 });
    let thrownBy = 0;
    breaker.onStateChange(() => {
      thrownBy++;
      throw new Error('listener bug');
    });
    const changes = recordChanges(breaker);
    const [error] = await failConnecting(breaker, 1);
    expect(breaker.state).to.not.equal('closed');
    await waitFor(() => breaker.state === 'half-open', 'half-open');
    expect(await breaker.execute(async () => 'ok')).to.equal('ok');
    expect(breaker.state).to.equal('closed');
    expect(thrownBy).to.equal(3);
    expect(transitions(changes)).to.deep.equal(['closed->open', 'open->half-open', 'half-open->closed']);
    expect(changes[0]?.error).to.equal(error);
  });

  it('rejects invalid options with a TypeError naming the field', () => {
    const invalid: ReadonlyArray<[CircuitBreakerOptions, string]> = [
      [{ threshold: 0 }, 'breaker.threshold'],
      [{ threshold: 1.5 }, 'breaker.threshold'],
      [{ threshold: -3 }, 'breaker.threshold'],
      [{ threshold: '5' as unknown as number }, 'breaker.threshold'],
      [{ threshold: Number.NaN }, 'breaker.threshold'],
      [{ halfOpenAfterMs: -1 }, 'breaker.halfOpenAfterMs'],
      [{ halfOpenAfterMs: 0.5 }, 'breaker.halfOpenAfterMs'],
      [{ halfOpenAfterMs: Number.POSITIVE_INFINITY }, 'breaker.halfOpenAfterMs'],
      [{ halfOpenAfterMs: null as unknown as number }, 'breaker.halfOpenAfterMs'],
    ];
    for (const [options, field] of invalid) {
      expect(() => createCircuitBreaker(options), JSON.stringify(options)).to.throw(TypeError, field);
    }
    expect(() => createCircuitBreaker({ threshold: 1, halfOpenAfterMs: 0 })).to.not.throw();
  });
});

describe('isBreakerFailure', () => {
  const counted: ReadonlyArray<[string, unknown]> = [
    ['ECONNREFUSED', withCode('refused', 'ECONNREFUSED')],
    ['ECONNRESET', withCode('reset', 'ECONNRESET')],
    ['ETIMEDOUT', withCode('timed out', 'ETIMEDOUT')],
    ['57P01 admin shutdown', withCode('terminating connection due to administrator command', '57P01')],
    ['57P03 cannot connect now', withCode('the database system is starting up', '57P03')],
    ['08006 connection failure', withCode('connection failure', '08006')],
    ['08001 unable to connect', withCode('could not connect', '08001')],
    ['node-postgres "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
    ['ConnectionError wrapping ECONNREFUSED', new ConnectionError(withCode('refused', 'ECONNREFUSED'))],
  ];
  const notCounted: ReadonlyArray<[string, unknown]> = [
    ['53300 too many connections', withCode('sorry, too many clients already', '53300')],
    ['40001 serialization failure', withCode('could not serialize access', '40001')],
    ['23505 unique violation', withCode('duplicate key', '23505')],
    ['57014 query canceled', withCode('canceling statement due to statement timeout', '57014')],
    ['28P01 bad password', withCode('password authentication failed', '28P01')],
    ['CircuitOpenError', new CircuitOpenError({ name: 'db', retryAfterMs: 100 }, withCode('refused', 'ECONNREFUSED'))],
    ['a plain Error', new Error('boom')],
    ['undefined', undefined],
    ['a string', 'ECONNREFUSED'],
  ];

  for (const [name, error] of counted) {
    it(`counts ${name}`, () => {
      expect(isBreakerFailure(error)).to.equal(true);
    });
  }
  for (const [name, error] of notCounted) {
    it(`does not count ${name}`, () => {
      expect(isBreakerFailure(error)).to.equal(false);
    });
  }
});
