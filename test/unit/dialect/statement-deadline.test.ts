import { expect } from 'chai';
import { StatementDeadline } from '../../../src/dialect/statement-deadline.js';
import { QueryTimeoutError } from '../../../src/errors/query-timeout-error.js';
import { failureOf } from '../../support/failure.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; fails after a generous bound (never a timing assertion). */
async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (predicate()) return;
    await sleep(2);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A promise that never settles: the statement that is still running. */
const forever = (): Promise<never> => new Promise<never>(() => undefined);

const activeTimers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

describe('StatementDeadline', () => {
  const deadlines: StatementDeadline[] = [];
  const track = (deadline: StatementDeadline): StatementDeadline => {
    deadlines.push(deadline);
    return deadline;
  };
  afterEach(() => {
    for (const deadline of deadlines.splice(0)) deadline.dispose();
  });

  it('never fires without a timeout or a signal', async () => {
    const timersBefore = activeTimers();
    const deadline = track(new StatementDeadline(0, undefined));
    // no timer is started without a timeout
    expect(activeTimers()).to.equal(timersBefore);
    let expired = 0;
    expect(await deadline.race(Promise.resolve(42), () => expired++)).to.equal(42);
    await sleep(20);
    expect(deadline.fired).to.equal(false);
    expect(deadline.timedOut).to.equal(false);
    expect(deadline.signal.aborted).to.equal(false);
    expect(expired).to.equal(0);
  });

  it('fires on its timeout with a QueryTimeoutError and calls onExpire exactly once', async () => {
    const deadline = track(new StatementDeadline(10, undefined));
    let expired = 0;
    const error = await failureOf(deadline.race(forever(), () => expired++));
    expect(error).to.be.instanceOf(QueryTimeoutError);
    expect((error as QueryTimeoutError).timeoutMs).to.equal(10);
    expect(deadline.fired).to.equal(true);
    expect(deadline.timedOut).to.equal(true);
    expect(deadline.signal.aborted).to.equal(true);
    expect(deadline.signal.reason).to.equal(error);
    expect(expired).to.equal(1);
    await sleep(20);
    expect(expired).to.equal(1);
  });

  it('rejects at once, calling onExpire synchronously, when raced after it fired', async () => {
    const deadline = track(new StatementDeadline(5, undefined));
    await waitFor(() => deadline.fired, 'the deadline to fire');
    let expired = 0;
    const raced = deadline.race(Promise.resolve('late'), () => expired++);
    expect(expired).to.equal(1);
    const error = await failureOf(raced);
    expect(error).to.be.instanceOf(QueryTimeoutError);
    expect(error).to.equal(deadline.signal.reason);
  });

  it('lets work that settles first resolve or reject normally, never calling onExpire', async () => {
    const deadline = track(new StatementDeadline(10, undefined));
    let expired = 0;
    expect(await deadline.race(Promise.resolve('rows'), () => expired++)).to.equal('rows');
    const failure = new Error('syntax error');
    expect(await failureOf(deadline.race(Promise.reject(failure), () => expired++))).to.equal(failure);
    // the timer still fires later (nothing disposed it), but the settled races do not hear it
    await waitFor(() => deadline.fired, 'the deadline to fire');
    await sleep(5);
    expect(expired).to.equal(0);
  });

  it('rejects with the caller signal reason when the signal aborts; timedOut stays false', async () => {
    const controller = new AbortController();
    const deadline = track(new StatementDeadline(60_000, controller.signal));
    let expired = 0;
    const raced = deadline.race(forever(), () => expired++);
    const reason = new Error('request cancelled');
    controller.abort(reason);
    const error = await failureOf(raced);
    expect(error).to.equal(reason);
    expect(deadline.fired).to.equal(true);
    expect(deadline.timedOut).to.equal(false);
    expect(deadline.signal.reason).to.equal(reason);
    expect(expired).to.equal(1);
  });

  it('follows the caller signal without a timeout too', async () => {
    const controller = new AbortController();
    const deadline = track(new StatementDeadline(0, controller.signal));
    let expired = 0;
    const raced = deadline.race(forever(), () => expired++);
    controller.abort();
    const error = await failureOf(raced);
    expect(error).to.equal(controller.signal.reason);
    expect(error.name).to.equal('AbortError');
    expect(deadline.timedOut).to.equal(false);
    expect(expired).to.equal(1);
  });

  it('rejects at once when the caller signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('already gone');
    controller.abort(reason);
    const timersBefore = activeTimers();
    const deadline = track(new StatementDeadline(60_000, controller.signal));
    // no timer is started for a deadline that has already fired
    expect(activeTimers()).to.equal(timersBefore);
    expect(deadline.fired).to.equal(true);
    expect(deadline.timedOut).to.equal(false);
    let expired = 0;
    const raced = deadline.race(forever(), () => expired++);
    expect(expired).to.equal(1);
    expect(await failureOf(raced)).to.equal(reason);
  });

  it('dispose clears the timer so that it neither fires nor holds the process', async () => {
    const timersBefore = activeTimers();
    const long = new StatementDeadline(60_000, undefined);
    expect(activeTimers()).to.equal(timersBefore + 1);
    long.dispose();
    expect(activeTimers()).to.equal(timersBefore);
    expect(long.fired).to.equal(false);

    const short = new StatementDeadline(5, undefined);
    short.dispose();
    await sleep(30);
    expect(short.fired).to.equal(false);
    expect(short.timedOut).to.equal(false);
  });

  it('dispose stops listening to the caller signal', () => {
    const controller = new AbortController();
    const deadline = new StatementDeadline(0, controller.signal);
    deadline.dispose();
    controller.abort(new Error('after dispose'));
    expect(deadline.fired).to.equal(false);
  });

  it('dispose is harmless after it fired and when called twice', async () => {
    const deadline = new StatementDeadline(5, undefined);
    await waitFor(() => deadline.fired, 'the deadline to fire');
    deadline.dispose();
    deadline.dispose();
    expect(deadline.fired).to.equal(true);
    expect(deadline.timedOut).to.equal(true);
  });
});
