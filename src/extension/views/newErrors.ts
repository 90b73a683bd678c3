/**
 * The notice "a new error on a cluster": shown when an error-level finding appears on a connected
 * cluster after its first sync (the findings it had when it connected are not news), unless
 * `clusterDebugger.notifyNewErrors` is off. Its **Don't Show Again** turns that setting off.
 *
 * `NewErrorTracker` decides what is new (pure); `NewErrorNotifier` reads the findings after each
 * burst of server changes and shows the notice.
 */
import { commands, window, type Disposable } from 'vscode';
import { clusterKey } from '../../protocol/config';
import { plural } from '../../protocol/format';
import type { ClusterInfo, FindingSummary } from '../../protocol/lsp';

/**
 * Which error-level findings of each cluster are new. The first findings of a cluster are its
 * baseline: nothing is new in them. An error that is resolved and comes back is new again (it
 * recurred); one whose severity rises to error is new.
 */
export class NewErrorTracker {
  /** By `clusterKey`: the ids of the error findings seen last. */
  private readonly known = new Map<string, Set<string>>();

  /** The error findings of `cluster` that were not errors last time; the first call for a cluster records them, and returns none. */
  update(cluster: string, findings: readonly FindingSummary[]): FindingSummary[] {
    const errors = findings.filter((f) => f.severity === 'error' && !f.provisional);
    const key = clusterKey(cluster);
    const before = this.known.get(key);
    this.known.set(key, new Set(errors.map((f) => f.id)));
    return before ? errors.filter((f) => !before.has(f.id)) : [];
  }

  /** Whether `cluster`'s baseline was taken. */
  has(cluster: string): boolean {
    return this.known.has(clusterKey(cluster));
  }

  /** Forgets the clusters not in `names` (one that comes back starts again from its first sync); none given: all. */
  retain(names: readonly string[] = []): void {
    const keep = new Set(names.map(clusterKey));
    for (const key of [...this.known.keys()]) if (!keep.has(key)) this.known.delete(key);
  }
}

/** Whether a cluster's findings are the full check's of a synced model: the only ones a baseline or a notice may come from. */
export function checkedAndLive(c: ClusterInfo): boolean {
  return c.state === 'live' && c.checked === true && c.syncedAt !== undefined && !c.provisional && !c.sync;
}

/** The notice's text: the cluster, and the new error (one), or how many and the first few rules. */
export function newErrorsMessage(cluster: string, fresh: readonly FindingSummary[]): string {
  if (fresh.length === 1) {
    const f = fresh[0];
    return `New error on ${cluster}: ${f.rule} (${f.group}): ${f.message}`;
  }
  const rules = [...new Set(fresh.map((f) => f.rule))];
  const named = rules.slice(0, 3).join(', ') + (rules.length > 3 ? `, and ${plural(rules.length - 3, 'more rule')}` : '');
  return `${plural(fresh.length, 'new error')} on ${cluster}: ${named}.`;
}

export const SHOW_PROBLEMS = 'Show Problems';
export const DONT_SHOW_AGAIN = "Don't Show Again";

export interface NewErrorSource {
  clusters(): readonly ClusterInfo[];
  /** The cluster's current findings (the server's `findings` request). */
  findings(cluster: string): Promise<FindingSummary[]>;
  /** `clusterDebugger.notifyNewErrors`. */
  enabled(): boolean;
  /** Turns `clusterDebugger.notifyNewErrors` off (the notice's Don't Show Again). */
  mute(): Thenable<void>;
  log: { warn(message: string): void };
}

export class NewErrorNotifier implements Disposable {
  readonly tracker = new NewErrorTracker();
  /** A read running, and whether another was asked for meanwhile (it runs next, once). */
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly source: NewErrorSource) {}

  /** After a burst of server changes: reads the findings of every checked, live cluster again. Resolves when done. */
  changed(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.readAll();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async readAll(): Promise<void> {
    const clusters = this.source.clusters();
    // Muted: no baseline is kept either, so turning it back on starts afresh (no backlog of "new" errors).
    if (!this.source.enabled()) return this.tracker.retain();
    this.tracker.retain(clusters.map((c) => c.name));
    for (const c of clusters) {
      // A cluster that is away (stale, reconnecting, syncing) keeps its baseline: what appeared meanwhile is news when it is back.
      if (!checkedAndLive(c)) continue;
      let findings: FindingSummary[];
      try {
        findings = await this.source.findings(c.name);
      } catch (e) {
        this.source.log.warn(
          `New-error notice: the findings of ${c.name} could not be read: ${e instanceof Error ? e.message : String(e)}`,
        );
        continue;
      }
      // The cluster may have gone (or been replaced) while its findings were read.
      if (!this.source.clusters().some((x) => clusterKey(x.name) === clusterKey(c.name))) continue;
      const fresh = this.tracker.update(c.name, findings);
      if (fresh.length) this.show(c.name, fresh);
    }
  }

  private show(cluster: string, fresh: readonly FindingSummary[]): void {
    void Promise.resolve(window.showErrorMessage(newErrorsMessage(cluster, fresh), SHOW_PROBLEMS, DONT_SHOW_AGAIN)).then((answer) => {
      if (answer === SHOW_PROBLEMS) return commands.executeCommand('workbench.actions.view.problems');
      if (answer === DONT_SHOW_AGAIN) return this.source.mute();
      return undefined;
    });
  }

  dispose(): void {
    this.tracker.retain();
  }
}
