/**
 * Coalesces bursts of `clusterDebugger/didChange` notifications into one
 * refresh per cluster and subsystem (the Kubernetes tools' pattern): a sync of
 * a large cluster sends many notifications in a row, and refreshing the trees
 * for each would make them flicker and re-fetch the same pages.
 *
 * Pure (no `vscode` import) so it can be driven without an editor.
 */
export type PendingChanges = Map<string, Set<string>>;

export class ChangeBatcher {
  private pending: PendingChanges = new Map();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flush: (changes: PendingChanges) => void,
    private readonly delayMs = 150,
  ) {}

  add(cluster: string, subsystems: readonly string[]): void {
    let set = this.pending.get(cluster);
    if (!set) this.pending.set(cluster, (set = new Set()));
    for (const s of subsystems) set.add(s);
    // Not reset on each event: a steady stream must still refresh every `delayMs`.
    this.timer ??= setTimeout(() => this.fire(), this.delayMs);
  }

  /** Runs the pending refresh now (e.g. after the user asked for one). */
  fire(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const changes = this.pending;
    this.pending = new Map();
    if (changes.size) this.flush(changes);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
