/**
 * A cluster's full sync as a progress notification: the percentage, entities per second, and a
 * Cancel that disconnects the cluster (the server's `clusterDebugger/syncProgress` notifications
 * drive it). Meanwhile the trees show the groups and counts the cluster summarised.
 */
import { ProgressLocation, window, type CancellationToken, type Disposable } from 'vscode';
import { clusterKey } from '../../protocol/config';
import { errorText, formatCount, percentDone } from '../../protocol/format';
import type { ClusterInfo, SyncProgressParams } from '../../protocol/lsp';
import { ThrottledProgress } from './progress';

/** A sync this short never shows a notification: it would only flash. */
const SHOW_AFTER_MS = 400;

interface OpenSync {
  latest: SyncProgressParams;
  reporter?: ThrottledProgress;
  showTimer?: NodeJS.Timeout;
  finish(): void;
}

export class SyncProgressNotifications implements Disposable {
  private readonly open = new Map<string, OpenSync>();
  /** Clusters (by `clusterKey`) whose sync the user cancelled: their `connect` failing is what they asked for. */
  private readonly cancelled = new Set<string>();

  constructor(
    private readonly disconnect: (cluster: string) => Promise<void>,
    private readonly log: { info(m: string): void; warn(m: string): void },
  ) {}

  update(p: SyncProgressParams): void {
    const key = clusterKey(p.cluster);
    const open = this.open.get(key);
    if (p.phase !== 'syncing') {
      this.close(key);
      return;
    }
    if (open) {
      open.latest = p;
      this.report(open);
      return;
    }
    this.cancelled.delete(key);
    const sync: OpenSync = { latest: p, finish: () => undefined };
    sync.showTimer = setTimeout(() => this.show(key, sync), SHOW_AFTER_MS);
    this.open.set(key, sync);
  }

  /** A cluster that is gone, or no longer syncing, has no sync to show (its last notification may be lost with a restarted server). */
  clustersChanged(clusters: readonly ClusterInfo[]): void {
    for (const key of [...this.open.keys()]) {
      const c = clusters.find((x) => clusterKey(x.name) === key);
      if (!c || !c.sync) this.close(key);
    }
  }

  /** Whether the user cancelled this cluster's sync since it began (asking forgets it). */
  takeCancelled(cluster: string): boolean {
    return this.cancelled.delete(clusterKey(cluster));
  }

  dispose(): void {
    for (const key of [...this.open.keys()]) this.close(key);
  }

  private show(key: string, sync: OpenSync): void {
    sync.showTimer = undefined;
    if (this.open.get(key) !== sync) return;
    const cluster = sync.latest.cluster;
    void window.withProgress(
      { location: ProgressLocation.Notification, title: `Syncing ${cluster}`, cancellable: true },
      (progress, token: CancellationToken) =>
        new Promise<void>((resolve) => {
          sync.reporter = new ThrottledProgress(progress);
          sync.finish = resolve;
          token.onCancellationRequested(() => {
            this.cancelled.add(key);
            this.log.info(`Cancelled the sync of ${cluster}: disconnecting it.`);
            this.disconnect(cluster).catch((err) => this.log.warn(`Disconnecting ${cluster}: ${errorText(err)}`));
            this.close(key);
          });
          this.report(sync);
        }),
    );
  }

  private report(sync: OpenSync): void {
    const p = sync.latest;
    if (!sync.reporter) return;
    const percent = percentDone(p);
    sync.reporter.report({
      percentage: percent,
      message: `${percent}%: ${formatCount(p.done)} of ${formatCount(p.total)} entities, ${formatCount(p.entitiesPerSecond)}/s`,
    });
  }

  private close(key: string): void {
    const sync = this.open.get(key);
    if (!sync) return;
    this.open.delete(key);
    if (sync.showTimer) clearTimeout(sync.showTimer);
    sync.reporter?.dispose();
    sync.finish();
  }
}
