/**
 * Promises that resolve once a condition holds, re-tested when their owner says something
 * changed (`wake`): the session wakes them on every state or model change, so a repair can wait
 * for its own events, or for the cluster to come back, without polling.
 */
export class Waiters {
  private waiting: Array<{ test: () => boolean; resolve: () => void }> = [];

  /** Resolves true once `test()` holds (checked now and on every `wake`), false on timeout. */
  waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }

  /** Re-tests every waiter, and resolves those whose test holds now. */
  wake(): void {
    if (!this.waiting.length) return;
    const ready = this.waiting.filter((w) => w.test());
    this.waiting = this.waiting.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
