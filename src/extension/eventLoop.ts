/**
 * How responsive the extension host has been: `perf_hooks.monitorEventLoopDelay`,
 * from activation on. The extension host is shared with every other extension,
 * so anything that holds its event loop (a long synchronous loop, a huge
 * `JSON.parse`) freezes them all; this is how a user, or `npm run bench:ui`,
 * sees whether it did. `Cluster: Show Extension Host Event-Loop Delay` reports
 * the figures since it was last run and starts a new interval.
 *
 * The histogram's timer fires every RESOLUTION_MS; each sample is how long one
 * interval really took. A delay is that minus the interval: how much later than
 * planned the loop came back to the timer, i.e. about how long something
 * blocked it. Its cost is one native timer, no JavaScript per sample.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
/** Nothing the extension does should hold the host longer than this (docs/limits.md). */
export const BLOCK_BUDGET_MS = 50;

export interface EventLoopDelay {
  /** Milliseconds the figures cover. */
  intervalMs: number;
  /** Timer samples taken in the interval (about one per RESOLUTION_MS while nothing blocks). */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private since = performance.now();

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
  }

  /** Samples taken since the last `take`. */
  get samples(): number {
    return this.histogram.count;
  }

  /** The delays since the last call (or since activation), and a fresh interval from now. */
  take(): EventLoopDelay {
    const h = this.histogram;
    const now = performance.now();
    const delay = (ns: number) => (h.count ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
    const figures = {
      intervalMs: now - this.since,
      samples: h.count,
      p50Ms: delay(h.percentile(50)),
      p99Ms: delay(h.percentile(99)),
      maxMs: delay(h.max),
    };
    h.reset();
    this.since = now;
    return figures;
  }

  dispose(): void {
    this.histogram.disable();
  }
}

/** One line for the log and the notification, e.g. "…over the last 12.3 s: p50 0.1 ms, p99 2.0 ms, max 31.5 ms (1,180 samples)". */
export function describeEventLoopDelay(d: EventLoopDelay): string {
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  const verdict = d.maxMs > BLOCK_BUDGET_MS ? `; blocked for more than ${BLOCK_BUDGET_MS} ms at least once` : '';
  return (
    `Extension host event-loop delay over the last ${(d.intervalMs / 1000).toFixed(1)} s: ` +
    `p50 ${f(d.p50Ms)}, p99 ${f(d.p99Ms)}, max ${f(d.maxMs)} (${d.samples.toLocaleString('en-US')} samples)${verdict}.`
  );
}
