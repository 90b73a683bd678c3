// The extension host's event-loop monitor (`Cluster: Show Extension Host Event-Loop Delay`), without an editor.
import * as assert from 'node:assert/strict';
import { BLOCK_BUDGET_MS, EventLoopMonitor, describeEventLoopDelay } from '../../src/extension/eventLoop';

/** Holds the event loop for `ms`, as a long synchronous loop in an extension would. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy */
  }
}

/** Waits, on the event loop, until `done()` holds; fails after 5 s. */
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('EventLoopMonitor', () => {
  let monitor: EventLoopMonitor;
  beforeEach(() => (monitor = new EventLoopMonitor()));
  afterEach(() => monitor.dispose());

  it('sees a block of the event loop as a delay at least that long, less the timer interval', async () => {
    // The histogram's first tick only starts its clock: wait until it has measured an interval.
    await until('a first sample', () => monitor.samples > 0);
    monitor.take();
    await until('a sample after the take', () => monitor.samples > 0);
    block(120);
    // The monitor's timer, overdue since the block began, fires once the loop is free.
    const before = monitor.samples;
    await until('the sample that spans the block', () => monitor.samples > before);
    const d = monitor.take();
    assert.ok(d.samples > 0, 'the timer fired');
    assert.ok(d.maxMs >= 100, `max ${d.maxMs} ms after a 120 ms block`);
    assert.ok(d.p50Ms <= d.p99Ms && d.p99Ms <= d.maxMs);
    assert.match(describeEventLoopDelay(d), new RegExp(`max \\d+\\.\\d ms .*blocked for more than ${BLOCK_BUDGET_MS} ms`));
  });

  it('starts a new interval at each take: figures taken right after cover nothing', () => {
    const d = monitor.take();
    const again = monitor.take();
    assert.equal(again.samples, 0);
    assert.deepEqual([again.p50Ms, again.p99Ms, again.maxMs], [0, 0, 0]);
    assert.ok(again.intervalMs <= d.intervalMs + 1);
    assert.doesNotMatch(describeEventLoopDelay(again), /blocked/);
  });
});
