/**
 * Keeping a live session's status in step: a gateway's subsystem health and read-only flag
 * change without any entity event, so `cluster.status` is re-read (on request, and every
 * `statusPollMs` while live and not syncing) and put on the model; the listeners hear which
 * subsystems it changed.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import { SUBSYSTEMS, errorText, type Subsystem } from '../protocol';
import type { SessionCore } from './link';
import type { SyncedModel } from './session-events';

/** Re-read `cluster.status` this often while live (a small request: no entities). */
export const DEFAULT_STATUS_POLL_MS = 3000;

/** What the status re-read needs of its session (`ClusterSession` builds it). */
export interface StatusHost extends SessionCore {
  /** The model whose status is replaced. */
  readonly model: SyncedModel;
  /** A full sync runs (it reads the status anyway). */
  syncing(): boolean;
  /** The status changed what it says about `subsystems`: bump the generation, tell the listeners. */
  statusChanged(subsystems: ReadonlySet<Subsystem>): void;
}

export class StatusPoller {
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly host: StatusHost) {}

  /** Starts the periodic re-read, every `everyMs` (0: never); once. */
  start(everyMs: number): void {
    if (everyMs <= 0 || this.host.disposed() || this.timer) return;
    this.timer = setInterval(() => void this.poll(), everyMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** `ClusterSession.refreshStatus`: the counts, control-plane epoch and subsystem health, onto the model. */
  async refresh(): Promise<void> {
    const host = this.host;
    const link = host.link();
    const model = host.model.current;
    if (!link || !model || host.state() !== 'live') return;
    const status = await link.request('cluster.status', {});
    // Keep our own seq: events, not the status call, say what the model contains. Another
    // incarnation's status never goes onto this model: the resync replaces both.
    const now = host.model.current;
    if (!now || status.incarnation !== now.status.incarnation || host.link() !== link) return;
    const before = now.status;
    now.status = { ...status, seq: host.model.seq };
    const changed = new Set<Subsystem>();
    if (Boolean(before.readOnly) !== Boolean(status.readOnly)) for (const s of SUBSYSTEMS) changed.add(s);
    for (const s of SUBSYSTEMS) {
      if (JSON.stringify(before.subsystems?.[s] ?? null) !== JSON.stringify(status.subsystems?.[s] ?? null)) changed.add(s);
    }
    if (!changed.size) return;
    host.log(`[${host.name}] status changed for ${[...changed].join(', ')}`);
    host.statusChanged(changed);
  }

  /** The periodic re-read: only while live and not syncing. */
  private async poll(): Promise<void> {
    const host = this.host;
    if (this.polling || host.disposed() || host.state() !== 'live' || host.syncing()) return;
    this.polling = true;
    try {
      await this.refresh();
    } catch (e) {
      host.log(`[${host.name}] status refresh failed: ${errorText(e)}`);
    } finally {
      this.polling = false;
    }
  }
}
