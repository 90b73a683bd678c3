/**
 * The session's full sync: subscribe first, then read every collection in pages, buffering the
 * events that arrive meanwhile, then apply the buffer guarded by entity version (`SyncedModel`).
 * A page read before an event and an event that already covers it can then never leave an older
 * version in the model. One sync runs at a time; a request during a sync runs another one after.
 *
 * Before the first sync, a cluster that serves `cluster.summary` is asked for its counts (the
 * "first view"), and the sync reports its progress in entities.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import {
  COLLECTION_NAMES,
  MAX_PAGE_LIMIT,
  SUBSYSTEMS,
  errorText,
  summaryTotal,
  type ClusterStatus,
  type ConnectionState,
  type EntityOf,
  type EventsNotification,
  type Subsystem,
  type SummaryResult,
  type SyncProgress,
} from '../protocol';
import { emptyCollections, type ClusterModel, type EntityMap } from '../analysis/model';
import type { ClusterLink, SessionCore } from './link';
import type { SyncedModel } from './session-events';

/** How a full sync ended: `cancelled` when the session was disposed (disconnected) meanwhile. */
export type SyncOutcome = { phase: 'done' } | { phase: 'failed'; message: string } | { phase: 'cancelled' };

/** The session was disposed (the cluster disconnected) while it synced. */
export class SyncCancelledError extends Error {
  constructor() {
    super('the sync was cancelled: the cluster was disconnected before it ended');
    this.name = 'SyncCancelledError';
  }
}

/** What a sync needs of its session (`ClusterSession` builds it). */
export interface SyncHost extends SessionCore {
  /** The model the sync replaces, and applies the buffered events to. */
  readonly model: SyncedModel;
  error(): string | null;
  setState(state: ConnectionState, error: string | null): void;
  /** The model changed: caches keyed on the session's generation are void. */
  bumpGeneration(): void;
  /** `SessionListener.modelChanged`. */
  modelChanged(dirty: ReadonlySet<Subsystem>): void;
  /** `SessionListener.summaryChanged`. */
  summaryChanged(): void;
  /** `SessionListener.syncProgress`. */
  syncProgress(progress: SyncProgress | null, outcome?: SyncOutcome): void;
}

export class FullSync {
  /** Non-null while a sync runs: events wait here. */
  private buffer: EventsNotification[] | null = null;
  private syncRun: Promise<void> | null = null;
  private resyncRequested = false;
  private currentSummary: SummaryResult | null = null;
  private currentSummaryStatus: ClusterStatus | null = null;
  private progress: { done: number; total: number; started: number } | null = null;
  /** When the last full sync ended with a model (ms since the epoch), or null before the first. */
  private lastSynced: number | null = null;

  constructor(private readonly host: SyncHost) {}

  /** `ClusterSession.summary`: the counts read before the first sync, if the cluster serves them. */
  get summary(): SummaryResult | null {
    return this.currentSummary;
  }

  /** `ClusterSession.summaryStatus`: the status `initialize` gave when the summary was read. */
  get summaryStatus(): ClusterStatus | null {
    return this.currentSummaryStatus;
  }

  /** When the last full sync ended with a model (ms since the epoch), or null before the first. */
  get syncedAt(): number | null {
    return this.lastSynced;
  }

  /** The full sync in progress (entities read, of how many, how fast), or null. */
  get syncProgress(): SyncProgress | null {
    const p = this.progress;
    if (!p) return null;
    const seconds = (Date.now() - p.started) / 1000;
    return { done: p.done, total: p.total, entitiesPerSecond: seconds > 0 ? Math.round(p.done / seconds) : 0 };
  }

  /** A sync is reading pages: live events are buffered until it ends. */
  get syncing(): boolean {
    return this.buffer !== null;
  }

  /** Buffers an event batch while a sync runs (true), else leaves it to the caller (false). */
  hold(n: EventsNotification): boolean {
    if (!this.buffer) return false;
    this.buffer.push(n);
    return true;
  }

  /** The link dropped: the events buffered over it are of no use. */
  dropBuffer(): void {
    this.buffer = null;
  }

  run(link: ClusterLink): Promise<void> {
    // One sync at a time; a request during a sync runs another one right after.
    if (this.syncRun) {
      this.resyncRequested = true;
      return this.syncRun;
    }
    this.syncRun = (async () => {
      try {
        do {
          this.resyncRequested = false;
          await this.syncOnce(link);
        } while (this.resyncRequested && this.host.link() === link && !this.host.disposed());
      } finally {
        this.syncRun = null;
      }
    })();
    return this.syncRun;
  }

  private async syncOnce(link: ClusterLink): Promise<void> {
    const host = this.host;
    const started = Date.now();
    this.buffer = [];
    host.setState(host.model.current ? (host.state() === 'live' ? 'syncing' : host.state()) : 'syncing', host.error());
    try {
      const firstView = !host.model.current && (await this.readSummary(link));
      this.progress = { done: 0, total: this.expectedTotal(link), started };
      // The first view goes out with the progress it starts, so the views show both at once.
      if (firstView) host.summaryChanged();
      this.reportProgress();
      const { seq } = await link.request('cluster.subscribe', {});
      const collections = emptyCollections();
      let total = 0;
      for (const c of COLLECTION_NAMES) {
        // The client validates every page against the entity schema (a `columns-v1` page column by column) and stores
        // it into the model's table (from the columns, no object per entity), and asks for the next page before it
        // stores this one: the cluster builds it meanwhile.
        const map = collections[c] as EntityMap<EntityOf<typeof c>>;
        for await (const stored of link.listAll(c, { limit: MAX_PAGE_LIMIT, into: map })) {
          this.progress.done += stored;
          this.reportProgress();
        }
        total += map.size;
      }
      const status = await link.request('cluster.status', {});
      if (host.disposed()) throw new SyncCancelledError();
      if (host.link() !== link) {
        this.endProgress({ phase: 'failed', message: 'the connection was replaced' });
        return;
      }
      const model: ClusterModel = { status: { ...status, seq }, collections };
      const buffered = this.buffer;
      this.buffer = null;
      host.model.replace(model, seq);
      let gap = false;
      for (const n of buffered) if (!host.model.applyBatch(n)) gap = true;
      host.bumpGeneration();
      this.lastSynced = Date.now();
      host.log(`[${host.name}] synced ${total} entities at seq ${host.model.seq} in ${Date.now() - started} ms`);
      this.endProgress({ phase: 'done' });
      host.setState('live', null);
      host.modelChanged(new Set(SUBSYSTEMS));
      if (gap) this.resyncRequested = true;
    } catch (e) {
      this.buffer = null;
      const cancelled = host.disposed();
      this.endProgress(cancelled ? { phase: 'cancelled' } : { phase: 'failed', message: errorText(e) });
      throw cancelled ? new SyncCancelledError() : e;
    }
  }

  /**
   * The first view: the cluster's counts, if it lists `cluster.summary` in `initialize`. A cluster
   * without it (or whose answer fails) is synced in full first, as before the method existed.
   * True when a summary was read (the caller tells the listeners).
   */
  private async readSummary(link: ClusterLink): Promise<boolean> {
    if (!link.init.methods?.includes('cluster.summary')) return false;
    const started = Date.now();
    let summary: SummaryResult;
    try {
      summary = await link.request('cluster.summary', {});
    } catch (e) {
      if (this.host.disposed()) throw e;
      this.host.log(`[${this.host.name}] cluster.summary failed (${errorText(e)}); syncing in full first`);
      return false;
    }
    if (this.host.link() !== link || this.host.disposed() || this.host.model.current) return false;
    this.currentSummary = summary;
    this.currentSummaryStatus = link.init.status;
    this.host.log(`[${this.host.name}] summary: ${summaryTotal(summary)} entities at seq ${summary.seq} in ${Date.now() - started} ms`);
    return true;
  }

  /** How many entities the sync will read: the summary's count, else the status's (the first sync's from `initialize`). */
  private expectedTotal(link: ClusterLink): number {
    const model = this.host.model.current;
    if (this.currentSummary && !model) return summaryTotal(this.currentSummary);
    const counts = (model?.status ?? link.init.status).counts;
    return Object.values(counts).reduce((n, x) => n + x, 0);
  }

  private reportProgress(): void {
    this.host.syncProgress(this.syncProgress);
  }

  private endProgress(outcome: SyncOutcome): void {
    if (!this.progress) return;
    this.progress = null;
    this.host.syncProgress(null, outcome);
  }
}
