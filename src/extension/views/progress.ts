/**
 * Percentages for a VS Code progress notification, at most once per `PROGRESS_EVERY_MS`.
 *
 * VS Code's notification animates its bar's width for each report: a repair's 153 batches,
 * reported as they end, kept the workbench drawing every frame (about 5 s of its renderer's
 * CPU over an 11 s Repair All, on the CPUs the repair needs). A report that comes sooner than
 * that waits, and only the newest waiting one is shown.
 *
 * Pure (no `vscode` import) so it can be driven without an editor.
 */

/** The most often a notification's progress changes. */
export const PROGRESS_EVERY_MS = 1000;

/** What the server reports: a message, and how far the work is in percent (0–100). */
export interface PercentReport {
  message?: string;
  percentage?: number;
}

/** VS Code's `Progress`: it wants increments. */
export interface IncrementProgress {
  report(value: { message?: string; increment?: number }): void;
}

/** The timer functions, replaceable in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class ThrottledProgress {
  /** The percentage shown so far. */
  private shown = 0;
  private waiting: PercentReport | undefined;
  private lastAt = -Infinity;
  private timer: unknown;

  constructor(
    private readonly target: IncrementProgress,
    private readonly everyMs = PROGRESS_EVERY_MS,
    private readonly clock: Clock = realClock,
  ) {}

  report(value: PercentReport): void {
    this.waiting = {
      message: value.message ?? this.waiting?.message,
      percentage: value.percentage ?? this.waiting?.percentage,
    };
    const wait = this.lastAt + this.everyMs - this.clock.now();
    if (wait <= 0) this.show();
    else this.timer ??= this.clock.setTimeout(() => this.show(), wait);
  }

  /** Drops what waits (the work ended: its notification closes). */
  dispose(): void {
    this.cancelTimer();
    this.waiting = undefined;
  }

  private show(): void {
    this.cancelTimer();
    const v = this.waiting;
    if (!v) return;
    this.waiting = undefined;
    this.lastAt = this.clock.now();
    const percent = v.percentage ?? this.shown;
    this.target.report({ message: v.message, increment: Math.max(0, percent - this.shown) });
    this.shown = Math.max(this.shown, percent);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
