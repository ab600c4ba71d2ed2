import { expect } from 'chai';
import { LeakDetector } from '../../../src/pool/leak-detector.js';
import { PoolCounters } from '../../../src/pool/pool-counters.js';
import { ObserverCaller } from '../../../src/pool/safe-hooks.js';
import type { Logger } from '../../../src/observability/logger.js';

interface Line {
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const push = (message: string, meta?: Record<string, unknown>): void => {
    lines.push({ message, meta });
  };
  return { error: push, warn: push, info: push, debug: push };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('pool: leak detector (one timer for every watched connection)', () => {
  const thresholdMs = 40;

  function detector(lines: Line[], leaks: number[]): { detector: LeakDetector; counters: PoolCounters } {
    const logger = recordingLogger(lines);
    const counters = new PoolCounters();
    const observer = new ObserverCaller({ onLeak: (event) => leaks.push(event.connectionId) }, logger, 'unit');
    return { detector: new LeakDetector({ thresholdMs, poolName: 'unit', logger, counters, observer }), counters };
  }

  it('reports every connection held past the threshold, oldest first, and none released in time', async () => {
    const lines: Line[] = [];
    const leaks: number[] = [];
    const { detector: leakDetector, counters } = detector(lines, leaks);
    const first = leakDetector.watch(1, performance.now(), undefined);
    await pause(5);
    const released = leakDetector.watch(2, performance.now(), undefined);
    await pause(5);
    const third = leakDetector.watch(3, performance.now(), undefined);
    released.stop();
    await until(() => leaks.length === 2, 'two leaks');
    expect(leaks).to.deep.equal([1, 3]);
    expect(counters.snapshot({ total: 0, idle: 0, active: 0, waiting: 0, max: 1, min: 0 }).leaksDetected).to.equal(2);
    for (const line of lines.filter((l) => l.message.startsWith('connection held longer'))) {
      expect(line.meta?.heldSeconds as number).to.be.at.least(thresholdMs / 1000 - 0.002);
    }
    first.stop();
    third.cancel();
    const returned = lines.filter((l) => l.message === 'connection previously reported as leaked was returned');
    expect(returned.map((l) => l.meta?.connectionId)).to.deep.equal([1]);
    await pause(thresholdMs * 2);
    expect(leaks).to.deep.equal([1, 3]);
  });

  it('sets the timer again for a connection watched after the one it was set for was released', async () => {
    const lines: Line[] = [];
    const leaks: number[] = [];
    const { detector: leakDetector } = detector(lines, leaks);
    leakDetector.watch(1, performance.now(), undefined).stop();
    await pause(thresholdMs / 2);
    const later = leakDetector.watch(2, performance.now(), undefined);
    const watchedAt = performance.now();
    await until(() => leaks.length === 1, 'the later leak');
    expect(leaks).to.deep.equal([2]);
    expect(performance.now() - watchedAt).to.be.at.least(thresholdMs - 2);
    later.stop();
  });

  it('watches nothing with a threshold of 0', async () => {
    const lines: Line[] = [];
    const leaks: number[] = [];
    const logger = recordingLogger(lines);
    const counters = new PoolCounters();
    const off = new LeakDetector({ thresholdMs: 0, poolName: 'unit', logger, counters, observer: new ObserverCaller(undefined, logger, 'unit') });
    const watch = off.watch(1, performance.now() - 10_000, undefined);
    await pause(20);
    watch.stop();
    expect(leaks).to.deep.equal([]);
    expect(lines).to.deep.equal([]);
  });
});
