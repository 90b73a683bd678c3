import * as assert from 'node:assert/strict';
import { ThrottledProgress, type Clock } from '../../src/extension/views/progress';

/** A clock the test moves by hand: its timers run when `advance` passes their time. */
class ManualClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

describe('ThrottledProgress (a notification’s progress, at most once a second)', () => {
  function rig() {
    const clock = new ManualClock();
    const shown: Array<{ message?: string; increment?: number }> = [];
    const progress = new ThrottledProgress({ report: (v) => shown.push(v) }, 1000, clock);
    return { clock, shown, progress };
  }

  it('shows the first report at once, then the newest of each second, as increments', () => {
    const { clock, shown, progress } = rig();
    progress.report({ message: '1 of 100', percentage: 1 });
    assert.deepEqual(shown, [{ message: '1 of 100', increment: 1 }]);
    for (let i = 2; i <= 40; i++) {
      clock.advance(25);
      progress.report({ message: `${i} of 100`, percentage: i });
    }
    assert.equal(shown.length, 1, 'nothing more within the second');
    clock.advance(1000);
    assert.deepEqual(shown[1], { message: '40 of 100', increment: 39 }, 'the newest, once the second is up');
    assert.equal(shown.length, 2);
    assert.equal(clock.pending, 0, 'no timer left once shown');
  });

  it('merges what waits (a report may leave out the message or the percentage), and never goes back', () => {
    const { clock, shown, progress } = rig();
    progress.report({ message: 'a', percentage: 50 });
    clock.advance(10);
    progress.report({ percentage: 60 });
    clock.advance(10);
    progress.report({ message: 'b' });
    clock.advance(1000);
    clock.advance(1000);
    progress.report({ message: 'c', percentage: 30 });
    assert.deepEqual(shown, [
      { message: 'a', increment: 50 },
      { message: 'b', increment: 10 },
      { message: 'c', increment: 0 },
    ]);
  });

  it('shows nothing after dispose (the work ended, its notification closed)', () => {
    const { clock, shown, progress } = rig();
    progress.report({ percentage: 10 });
    progress.report({ percentage: 20 });
    progress.dispose();
    clock.advance(5000);
    assert.deepEqual(shown, [{ message: undefined, increment: 10 }]);
    assert.equal(clock.pending, 0);
  });
});
