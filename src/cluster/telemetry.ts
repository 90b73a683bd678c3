/**
 * What a cluster counts for its `/metrics` (src/cluster/metrics.ts), kept by the backend as plain
 * numbers: repairs by command and outcome, and per source (a gateway's subsystem) its last
 * successful read and each read's latency. No entity key or id is kept: labels stay bounded.
 */

/** What became of one repair item (`applied`, `refused`, `unchanged`), or of a whole repair whose write failed (`failed`). */
export type RepairOutcome = 'applied' | 'refused' | 'unchanged' | 'failed';

export const REPAIR_OUTCOMES: readonly RepairOutcome[] = ['applied', 'refused', 'unchanged', 'failed'];

const MAX_EARLY_READS = 4096;

export class Telemetry {
  /** Per repair command (a bounded set: `RepairCommandName`), items per outcome since start. */
  readonly repairs = new Map<string, Record<RepairOutcome, number>>();
  /** Per source, the wall-clock time (ms) of its last successful read. */
  readonly lastRead = new Map<string, number>();
  private readonly readListeners = new Set<(source: string, seconds: number, ok: boolean) => void>();
  /** Reads made before anything listened (a gateway's first reads come before its server starts), up to `MAX_EARLY_READS`. */
  private early: [string, number, boolean][] | undefined = [];

  repaired(command: string, outcome: RepairOutcome, n = 1): void {
    if (n <= 0) return;
    let counts = this.repairs.get(command);
    if (!counts) this.repairs.set(command, (counts = { applied: 0, refused: 0, unchanged: 0, failed: 0 }));
    counts[outcome] += n;
  }

  /** A source read its store successfully now (a full read, a watch event, a poll). */
  readSucceeded(source: string, at = Date.now()): void {
    this.lastRead.set(source, at);
  }

  /** One read of a source's store took `seconds`. */
  readDuration(source: string, seconds: number, ok: boolean): void {
    if (this.early && this.early.length < MAX_EARLY_READS) this.early.push([source, seconds, ok]);
    for (const l of this.readListeners) l(source, seconds, ok);
  }

  /** Read latencies as they come (the metrics' histogram); returns the unsubscribe. */
  onReadDuration(listener: (source: string, seconds: number, ok: boolean) => void): () => void {
    for (const [source, seconds, ok] of this.early ?? []) listener(source, seconds, ok);
    this.early = undefined;
    this.readListeners.add(listener);
    return () => this.readListeners.delete(listener);
  }
}
