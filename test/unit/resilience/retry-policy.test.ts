import { expect } from 'chai';
import { ExponentialBackoff } from 'cockatiel';
import { RETRY_DEFAULTS, resolveRetryOptions, type RetryOptions } from '../../../src/resilience/retry-options.js';
import { RetryPolicy, type RetryControl, type RetryEvent } from '../../../src/resilience/retry-policy.js';
import { failureOf } from '../../support/failure.js';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const isRefused = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';

/** A policy with tiny delays, so that retries cost next to nothing. */
function policy(options: RetryOptions = {}): RetryPolicy {
  return new RetryPolicy(resolveRetryOptions({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2, ...options }));
}

/** A control that records every retry event and every `shouldRetry` call. */
function recording(
  shouldRetry: RetryControl['shouldRetry'] = isRefused,
  signal?: AbortSignal,
): { control: RetryControl; events: RetryEvent[]; asked: Array<[unknown, number]> } {
  const events: RetryEvent[] = [];
  const asked: Array<[unknown, number]> = [];
  const control: RetryControl = {
    reason: 'connect',
    shouldRetry: (error, attempt) => {
      asked.push([error, attempt]);
      return shouldRetry(error, attempt);
    },
    onRetry: (event) => void events.push(event),
    signal,
  };
  return { control, events, asked };
}

describe('RetryPolicy', () => {
  it('runs a successful operation once and never builds a backoff delay', async () => {
    const original = Object.getOwnPropertyDescriptor(ExponentialBackoff.prototype, 'next');
    let backoffs = 0;
    const next = ExponentialBackoff.prototype.next;
    ExponentialBackoff.prototype.next = function (this: ExponentialBackoff<unknown>, ...args: Parameters<typeof next>) {
      backoffs++;
      return next.apply(this, args);
    };
    try {
      const attempts: number[] = [];
      const { control, events, asked } = recording();
      const value = await policy().execute(async (attempt) => {
        attempts.push(attempt);
        return 'ok';
      }, control);
      expect(value).to.equal('ok');
      expect(attempts).to.deep.equal([1]);
      expect(events).to.deep.equal([]);
      expect(asked).to.deep.equal([]);
      expect(backoffs).to.equal(0);
    } finally {
      if (original !== undefined) Object.defineProperty(ExponentialBackoff.prototype, 'next', original);
    }
  });

  it('retries a retryable failure once and reports one RetryEvent with a fully jittered first delay', async () => {
    const refused = withCode('refused', 'ECONNREFUSED');
    const attempts: number[] = [];
    const { control, events } = recording();
    const retry = policy({ maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 1000 });
    const value = await retry.execute(async (attempt) => {
      attempts.push(attempt);
      if (attempt === 1) throw refused;
      return attempt * 10;
    }, control);
    expect(value).to.equal(20);
    expect(attempts).to.deep.equal([1, 2]);
    expect(events).to.have.length(1);
    const [event] = events;
    expect(event).to.include({ reason: 'connect', attempt: 1, maxAttempts: 4, error: refused });
    expect(event?.delayMs).to.be.a('number').within(0, 10);
  });

  it('reports the reason given by the caller', async () => {
    const { control, events } = recording();
    await policy().execute(
      async (attempt) => {
        if (attempt === 1) throw withCode('refused', 'ECONNREFUSED');
      },
      { ...control, reason: 'read' },
    );
    expect(events.map((event) => event.reason)).to.deep.equal(['read']);
  });

  it('throws the LAST error after exactly maxAttempts runs when the budget is spent', async () => {
    const errors: Error[] = [];
    const attempts: number[] = [];
    const { control, events, asked } = recording();
    const error = await failureOf(
      policy({ maxAttempts: 4 }).execute(async (attempt) => {
        attempts.push(attempt);
        const failure = withCode(`refused #${attempt}`, 'ECONNREFUSED');
        errors.push(failure);
        throw failure;
      }, control),
    );
    expect(attempts).to.deep.equal([1, 2, 3, 4]);
    expect(error).to.equal(errors[3]);
    expect(error.message).to.equal('refused #4');
    expect(events.map((event) => event.attempt)).to.deep.equal([1, 2, 3]);
    expect(events.map((event) => event.error)).to.deep.equal(errors.slice(0, 3));
    expect(events.every((event) => event.maxAttempts === 4)).to.equal(true);
    // shouldRetry sees every failure, the last one included
    expect(asked.at(-1)).to.deep.equal([errors[3], 4]);
  });

  it('throws at once (one run) when shouldRetry refuses the first failure', async () => {
    const unique = withCode('duplicate', '23505');
    let runs = 0;
    const { control, events } = recording();
    const error = await failureOf(
      policy({ maxAttempts: 5 }).execute(async () => {
        runs++;
        throw unique;
      }, control),
    );
    expect(error).to.equal(unique);
    expect(runs).to.equal(1);
    expect(events).to.deep.equal([]);
  });

  it('stops as soon as shouldRetry refuses a later failure', async () => {
    const unique = withCode('duplicate', '23505');
    const attempts: number[] = [];
    const { control, events } = recording();
    const error = await failureOf(
      policy({ maxAttempts: 5 }).execute(async (attempt) => {
        attempts.push(attempt);
        throw attempt === 1 ? withCode('refused', 'ECONNREFUSED') : unique;
      }, control),
    );
    expect(error).to.equal(unique);
    expect(attempts).to.deep.equal([1, 2]);
    expect(events).to.have.length(1);
  });

  it('does not retry at all with maxAttempts 1', async () => {
    let runs = 0;
    const { control, asked } = recording(() => true);
    const refused = withCode('refused', 'ECONNREFUSED');
    const error = await failureOf(
      new RetryPolicy(resolveRetryOptions(false)).execute(async () => {
        runs++;
        throw refused;
      }, control),
    );
    expect(error).to.equal(refused);
    expect(runs).to.equal(1);
    expect(asked).to.deep.equal([]);
  });

  it('never reports a delay above maxDelayMs', async () => {
    const { control, events } = recording(() => true);
    const attempts: number[] = [];
    await failureOf(
      policy({ maxAttempts: 6, initialDelayMs: 1, maxDelayMs: 4 }).execute(async (attempt) => {
        attempts.push(attempt);
        throw withCode('refused', 'ECONNREFUSED');
      }, control),
    );
    expect(attempts).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(events).to.have.length(5);
    for (const event of events) {
      expect(event.delayMs).to.be.a('number').within(0, 4);
    }
  });

  it('keeps every delay within the exponential bound of its retry (full jitter)', async () => {
    const { control, events } = recording(() => true);
    await failureOf(
      policy({ maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 8 }).execute(async () => {
        throw withCode('refused', 'ECONNREFUSED');
      }, control),
    );
    expect(events).to.have.length(4);
    events.forEach((event, index) => {
      expect(event.delayMs, `delay of retry ${index + 1}`).to.be.within(0, Math.min(8, 2 ** index));
    });
  });

  it('stops retrying when the signal aborts during an attempt: that attempt\'s own failure is the outcome', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const attempts: number[] = [];
    const { control, events } = recording(isRefused, controller.signal);
    const error = await failureOf(
      policy({ maxAttempts: 6 }).execute(async (attempt) => {
        attempts.push(attempt);
        if (attempt === 2) controller.abort(reason);
        throw withCode(`refused #${attempt}`, 'ECONNREFUSED');
      }, control),
    );
    expect(error).to.have.property('message', 'refused #2');
    expect(attempts).to.deep.equal([1, 2]);
    // attempt 2 failed after the abort: no retry is announced for it
    expect(events.map((event) => event.attempt)).to.deep.equal([1]);
  });

  it('never interrupts a running attempt: a retried attempt that succeeds after the abort settles the call with its result', async () => {
    const controller = new AbortController();
    let finish: (() => void) | undefined;
    const settled: string[] = [];
    const running = policy({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 })
      .execute(
        async (attempt) => {
          if (attempt === 1) throw withCode('refused', 'ECONNREFUSED');
          // the second attempt is "committing" when the caller aborts
          await new Promise<void>((resolve) => {
            finish = resolve;
            controller.abort(new Error('caller gave up'));
          });
          return 'committed';
        },
        { reason: 'transaction', shouldRetry: isRefused, signal: controller.signal },
      )
      .then(
        (value) => void settled.push(`resolved ${value}`),
        (error: unknown) => void settled.push(`rejected ${String(error)}`),
      );
    while (finish === undefined) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled, 'the call waits for the running attempt').to.deep.equal([]);
    finish();
    await running;
    expect(settled).to.deep.equal(['resolved committed']);
  });

  it('does not start the next attempt when the signal aborts during a delay', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const attempts: number[] = [];
    const retry = policy({ maxAttempts: 6 });
    const error = await failureOf(
      retry.execute(
        async (attempt) => {
          attempts.push(attempt);
          throw withCode('refused', 'ECONNREFUSED');
        },
        {
          reason: 'connect',
          shouldRetry: isRefused,
          onRetry: () => controller.abort(reason),
          signal: controller.signal,
        },
      ),
    );
    expect(error).to.equal(reason);
    expect(attempts).to.deep.equal([1]);
  });

  it('stops retrying after an abort even when shouldRetry would accept the failure', async () => {
    const controller = new AbortController();
    const reason = withCode('caller gave up', 'ECONNREFUSED');
    const attempts: number[] = [];
    const { control, events } = recording(() => true, controller.signal);
    const error = await failureOf(
      policy({ maxAttempts: 6 }).execute(async (attempt) => {
        attempts.push(attempt);
        if (attempt === 2) controller.abort(reason);
        throw withCode(`refused #${attempt}`, 'ECONNREFUSED');
      }, control),
    );
    expect(error).to.have.property('message', 'refused #2');
    expect(attempts).to.deep.equal([1, 2]);
    // once the signal has aborted no further retry may be scheduled or reported
    // attempt 2 failed after the abort: no retry is announced for it
    expect(events.map((event) => event.attempt)).to.deep.equal([1]);
  });
});

describe('resolveRetryOptions', () => {
  it('applies the defaults', () => {
    expect(RETRY_DEFAULTS).to.deep.equal({ maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 2000 });
    expect(Object.isFrozen(RETRY_DEFAULTS)).to.equal(true);
    expect(resolveRetryOptions(undefined)).to.deep.equal(RETRY_DEFAULTS);
    expect(resolveRetryOptions({})).to.deep.equal(RETRY_DEFAULTS);
    const partial = resolveRetryOptions({ maxAttempts: 5 });
    expect(partial).to.deep.equal({ maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 2000 });
    expect(Object.isFrozen(partial)).to.equal(true);
  });

  it('keeps every valid value given', () => {
    expect(resolveRetryOptions({ maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 })).to.deep.equal({
      maxAttempts: 1,
      initialDelayMs: 0,
      maxDelayMs: 0,
    });
    expect(resolveRetryOptions({ maxAttempts: 7, initialDelayMs: 20, maxDelayMs: 20 })).to.deep.equal({
      maxAttempts: 7,
      initialDelayMs: 20,
      maxDelayMs: 20,
    });
  });

  it('turns retrying off with false (maxAttempts 1)', () => {
    const off = resolveRetryOptions(false);
    expect(off).to.deep.equal({ ...RETRY_DEFAULTS, maxAttempts: 1 });
    expect(Object.isFrozen(off)).to.equal(true);
  });

  it('throws a TypeError naming every invalid field', () => {
    const bad = { maxAttempts: 0, initialDelayMs: -1, maxDelayMs: 1.5 };
    expect(() => resolveRetryOptions(bad)).to.throw(TypeError);
    let message = '';
    try {
      resolveRetryOptions(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.include('retry.maxAttempts must be an integer >= 1');
    expect(message).to.include('retry.initialDelayMs must be an integer from 0 to 2147483647');
    expect(message).to.include('retry.maxDelayMs must be an integer from 0 to 2147483647');
  });

  it('rejects delays longer than a Node.js timer can wait', () => {
    expect(() => resolveRetryOptions({ maxDelayMs: 2 ** 31 })).to.throw(TypeError, 'retry.maxDelayMs must be an integer from 0 to 2147483647');
  });

  it('rejects non-numbers, NaN and infinities', () => {
    for (const value of ['3', Number.NaN, Number.POSITIVE_INFINITY, null, true] as unknown[]) {
      expect(() => resolveRetryOptions({ maxAttempts: value } as RetryOptions), String(value)).to.throw(TypeError, 'retry.maxAttempts');
    }
  });

  it('rejects something that is neither an object nor false', () => {
    expect(() => resolveRetryOptions(null as unknown as RetryOptions)).to.throw(TypeError, 'retry must be an object or false');
    expect(() => resolveRetryOptions(3 as unknown as RetryOptions)).to.throw(TypeError, 'retry must be an object or false');
    expect(() => resolveRetryOptions(true as unknown as RetryOptions)).to.throw(TypeError, 'retry must be an object or false');
  });

  it('rejects maxDelayMs below initialDelayMs, defaults included', () => {
    expect(() => resolveRetryOptions({ initialDelayMs: 100, maxDelayMs: 50 })).to.throw(
      TypeError,
      'retry.maxDelayMs (50) must not be below retry.initialDelayMs (100)',
    );
    // the default maxDelayMs (2000) is below this initialDelayMs
    expect(() => resolveRetryOptions({ initialDelayMs: 3000 })).to.throw(TypeError, 'retry.maxDelayMs');
    // the default initialDelayMs (50) is above this maxDelayMs
    expect(() => resolveRetryOptions({ maxDelayMs: 10 })).to.throw(TypeError, 'retry.initialDelayMs');
  });

  it('uses a custom label in its messages', () => {
    expect(() => resolveRetryOptions({ maxAttempts: 0 }, 'transaction retries')).to.throw(
      TypeError,
      'transaction retries.maxAttempts must be an integer >= 1',
    );
    expect(() => resolveRetryOptions({ initialDelayMs: 10, maxDelayMs: 5 }, 'transaction retries')).to.throw(
      TypeError,
      'transaction retries.maxDelayMs (5) must not be below transaction retries.initialDelayMs (10)',
    );
    expect(() => resolveRetryOptions('x' as unknown as RetryOptions, 'transaction retries')).to.throw(
      TypeError,
      'transaction retries must be an object or false',
    );
  });
});
