import { expect } from 'chai';
import { AcquireDeadline, DeadlineTimer } from '../../../src/pool/acquire-deadline.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function settled(deadline: AcquireDeadline): Promise<string> {
  return deadline.race(new Promise<string>(() => undefined)).catch((error: unknown) => (error as Error).message);
}

describe('pool: acquisition deadlines on one timer', () => {
  it('times out each deadline after the timeout, oldest first, and never one that was disposed', async () => {
    const timer = new DeadlineTimer(40);
    const order: string[] = [];
    const make = (name: string): AcquireDeadline => new AcquireDeadline(timer, undefined, () => new Error(name));
    const first = make('first');
    const firstAt = performance.now();
    await pause(5);
    const disposed = make('disposed');
    await pause(5);
    const third = make('third');
    disposed.dispose();
    const results = [settled(first).then((m) => order.push(m)), settled(third).then((m) => order.push(m))];
    await Promise.all(results);
    expect(order).to.deep.equal(['first', 'third']);
    expect(performance.now() - firstAt).to.be.at.least(39);
    expect(first.outcome).to.equal('timeout');
    expect(third.outcome).to.equal('timeout');
    expect(disposed.outcome).to.equal(undefined);
  });

  it('ends a wait at once on abort or expire(), and times out a later deadline after the earlier ones left', async () => {
    const timer = new DeadlineTimer(30);
    const controller = new AbortController();
    const aborted = new AcquireDeadline(timer, controller.signal, () => new Error('timeout'));
    const closed = new AcquireDeadline(timer, undefined, () => new Error('timeout'));
    controller.abort(new Error('caller left'));
    closed.expire('closed', new Error('pool closed'));
    expect(await settled(aborted)).to.equal('caller left');
    expect(await settled(closed)).to.equal('pool closed');
    expect(aborted.outcome).to.equal('canceled');
    expect(closed.outcome).to.equal('closed');
    // the timer was set for the first two; it fires early for this one, and is set again
    await pause(10);
    const later = new AcquireDeadline(timer, undefined, () => new Error('later timed out'));
    expect(await settled(later)).to.equal('later timed out');
  });
});
