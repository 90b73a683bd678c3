/**
 * One cluster session: the WebSocket link, the synced model, and keeping it
 * in step with the cluster.
 *
 * Sync order matters: subscribe first, then read every collection in pages,
 * buffering the events that arrive meanwhile, then apply the buffer guarded
 * by entity version. A page read before an event and an event that already
 * covers it can then never leave an older version in the model.
 *
 * Before the first sync, a cluster that serves `cluster.summary` is asked for its counts per
 * group and state: the views show them (the "first view") while the pages are read, which at
 * 763,471 shards takes seconds. The sync reports its progress, and `dispose` cancels it.
 *
 * After that, `cluster.events` are applied as they come; a sequence gap or a
 * `reset` forces a resync. A dropped link marks the session `stale` (the last
 * model stays visible, flagged) and reconnects with capped, jittered backoff.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import {
  COLLECTIONS,
  COLLECTION_NAMES,
  MAX_PAGE_LIMIT,
  ErrorCodes,
  RpcException,
  SUBSYSTEMS,
  errorDetail,
  errorText,
  summaryTotal,
  type ChangeEvent,
  type CollectionName,
  type ConnectionState,
  type EventsNotification,
  type RepairParams,
  type RepairResult,
  type ClusterStatus,
  type Subsystem,
  type SummaryResult,
  type SyncProgress,
} from '../protocol';
import { emptyCollections, type ClusterModel, type CollectionMaps, type EntityMap } from '../analysis/model';
import type { StateChange } from '../analysis/timeline';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import type { ClusterLink, LinkFactory } from './link';

export interface SessionOptions {
  name: string;
  url: string;
  token: string;
  connect: LinkFactory;
  log: (message: string) => void;
  /** Reconnect after the link drops (the language server); the CLI wants a single attempt. */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /**
   * How often `cluster.status` is read again while live, in ms (0: never). A gateway's subsystem
   * health and read-only flag change without any entity event; this is how they reach the views.
   */
  statusPollMs?: number;
}

/** Re-read `cluster.status` this often while live (a small request: no entities). */
export const DEFAULT_STATUS_POLL_MS = 3000;

export interface SessionListener {
  /** State or error changed. */
  stateChanged(session: ClusterSession): void;
  /** The model changed; `dirty` lists the subsystems whose collections changed. */
  modelChanged(session: ClusterSession, dirty: ReadonlySet<Subsystem>): void;
  /**
   * A re-read status changed what the cluster says about subsystems, with no entity event: their
   * health (ok, not configured, unavailable, unreadable records), or whether it is read-only (all).
   */
  statusChanged?(session: ClusterSession, subsystems: ReadonlySet<Subsystem>): void;
  /** `cluster.summary` was read before the first sync: the views can show its groups and counts now. */
  summaryChanged?(session: ClusterSession): void;
  /** A full sync read another page (`progress`), or ended (`progress` null; `outcome` says how). */
  syncProgress?(session: ClusterSession, progress: SyncProgress | null, outcome?: SyncOutcome): void;
  /** An event changed one entity (the timeline records it); called for each, as they are applied. */
  entityChanged?(session: ClusterSession, change: StateChange): void;
}

/** How a full sync ended: `cancelled` when the session was disposed (disconnected) meanwhile. */
export type SyncOutcome = { phase: 'done' } | { phase: 'failed'; message: string } | { phase: 'cancelled' };

/** The session was disposed (the cluster disconnected) while it synced. */
export class SyncCancelledError extends Error {
  constructor() {
    super('the sync was cancelled: the cluster was disconnected before it ended');
    this.name = 'SyncCancelledError';
  }
}

/**
 * A repair was planned on another incarnation of the cluster (it restarted or
 * was reset since): it is never sent to, or replayed on, the new one.
 */
export class IncarnationChangedError extends Error {
  constructor(
    readonly plannedOn: string,
    readonly now: string | undefined,
  ) {
    super(`the cluster restarted since the repair was planned (incarnation ${plannedOn}, now ${now ?? 'unknown'}); nothing more was sent`);
    this.name = 'IncarnationChangedError';
  }
}

/** Thrown by operations that need a live link. */
export class NotLiveError extends Error {
  constructor(state: ConnectionState) {
    super(
      state === 'stale'
        ? 'the connection to the cluster was lost; the view is stale and nothing is repaired from stale state'
        : `the cluster is ${state}, not live`,
    );
    this.name = 'NotLiveError';
  }
}

type Entity = { key: string; version: number };

export class ClusterSession {
  readonly name: string;
  readonly url: string;
  /** Bumps on every model change; caches (findings, renders, trees) key on it. */
  generation = 0;
  /** Entities skipped because they failed validation (logged, never fatal). */
  invalidItems = 0;

  // Changed only by the session's own methods: read them through the getters below.
  private currentState: ConnectionState = 'connecting';
  private lastError: string | null = null;
  private currentModel: ClusterModel | null = null;
  private appliedSeq = 0;

  private link: ClusterLink | null = null;
  private readonly listeners: SessionListener[] = [];
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  /** Non-null while a sync runs: events wait here. */
  private buffer: EventsNotification[] | null = null;
  private syncRun: Promise<void> | null = null;
  private resyncRequested = false;
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  private statusTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private currentSummary: SummaryResult | null = null;
  private currentSummaryStatus: ClusterStatus | null = null;
  private progress: { done: number; total: number; started: number } | null = null;

  constructor(private readonly options: SessionOptions) {
    this.name = options.name;
    this.url = options.url;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Last connection or sync error, in words. */
  get error(): string | null {
    return this.lastError;
  }

  /** The synced model; the last one stays (marked stale) while the link is down. */
  get model(): ClusterModel | null {
    return this.currentModel;
  }

  /**
   * The cluster's counts (`cluster.summary`) read before the first sync, if it serves them: the
   * first view, until the model exists. Null for a cluster without the method (it syncs in full first).
   */
  get summary(): SummaryResult | null {
    return this.currentSummary;
  }

  /**
   * The cluster's status as `initialize` gave it, when the summary was read: the configuration,
   * epoch and time that the checks on counts read with it. Null without a summary.
   */
  get summaryStatus(): ClusterStatus | null {
    return this.currentSummaryStatus;
  }

  /** The full sync in progress (entities read, of how many, how fast), or null. */
  get syncProgress(): SyncProgress | null {
    const p = this.progress;
    if (!p) return null;
    const seconds = (Date.now() - p.started) / 1000;
    return { done: p.done, total: p.total, entitiesPerSecond: seconds > 0 ? Math.round(p.done / seconds) : 0 };
  }

  /** The incarnation of the cluster the model was synced from (plans made on it carry it). */
  get incarnation(): string | undefined {
    return this.currentModel?.status.incarnation;
  }

  /** The last cluster event applied. */
  get lastSeq(): number {
    return this.appliedSeq;
  }

  addListener(listener: SessionListener): void {
    this.listeners.push(listener);
  }

  /** First connection and sync. Rejects if it fails; later drops reconnect on their own (if enabled). */
  async start(): Promise<void> {
    await this.connectAndSync();
    const every = this.options.statusPollMs ?? DEFAULT_STATUS_POLL_MS;
    if (every > 0 && !this.disposed && !this.statusTimer) {
      this.statusTimer = setInterval(() => void this.pollStatus(), every);
      this.statusTimer.unref?.();
    }
  }

  /** Force a full resync (the `refresh` request; a gap; after a repair whose events did not arrive). */
  async resync(): Promise<void> {
    const link = this.link;
    if (!link) throw new NotLiveError(this.state);
    try {
      await this.sync(link);
    } catch (e) {
      this.syncFailed(link, e);
      throw e;
    }
  }

  /**
   * Re-reads `cluster.status` (counts, control-plane epoch, subsystem health) into the model; tells
   * the listeners (`statusChanged`) when what it says about subsystems changed.
   */
  async refreshStatus(): Promise<void> {
    const link = this.link;
    if (!link || !this.model || this.state !== 'live') return;
    const status = await link.request('cluster.status', {});
    // Keep our own seq: events, not the status call, say what the model contains. Another
    // incarnation's status never goes onto this model: the resync replaces both.
    const model = this.currentModel;
    if (!model || status.incarnation !== model.status.incarnation || this.link !== link) return;
    const before = model.status;
    model.status = { ...status, seq: this.lastSeq };
    const changed = new Set<Subsystem>();
    if (Boolean(before.readOnly) !== Boolean(status.readOnly)) for (const s of SUBSYSTEMS) changed.add(s);
    for (const s of SUBSYSTEMS) {
      if (JSON.stringify(before.subsystems?.[s] ?? null) !== JSON.stringify(status.subsystems?.[s] ?? null)) changed.add(s);
    }
    if (!changed.size) return;
    this.generation++;
    this.options.log(`[${this.name}] status changed for ${[...changed].join(', ')}`);
    for (const l of this.listeners) safely(() => l.statusChanged?.(this, changed), this.options.log);
    this.wake();
  }

  /** The periodic re-read of the status: only while live and not syncing (a sync reads it anyway). */
  private async pollStatus(): Promise<void> {
    if (this.polling || this.disposed || this.state !== 'live' || this.buffer) return;
    this.polling = true;
    try {
      await this.refreshStatus();
    } catch (e) {
      this.options.log(`[${this.name}] status refresh failed: ${errorText(e)}`);
    } finally {
      this.polling = false;
    }
  }

  /**
   * Sends one repair. If the link drops, waits for the reconnect and sends it
   * again with the same `requestId`, so the cluster applies it at most once;
   * but only to the same incarnation: a restarted cluster's replay cache is
   * empty and its versions may repeat, so the repair is never replayed there
   * (`IncarnationChangedError`; the caller re-plans).
   */
  async sendRepair(params: RepairParams, deadlineMs = 30_000): Promise<RepairResult> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if (this.disposed) throw new Error('the cluster was disconnected');
      if (this.state !== 'live' || !this.link) {
        const ok = await this.waitFor(() => this.state === 'live' || this.disposed, deadline - Date.now());
        if (!ok) throw new NotLiveError(this.state);
        continue;
      }
      const link = this.link;
      // Live means the model was synced over this link, so its status says which incarnation the cluster
      // is now: a reset changes it with the connection still up, and the `initialize` reply is then old.
      const now = this.currentModel?.status.incarnation ?? link.init.status.incarnation;
      if (now !== params.incarnation) throw new IncarnationChangedError(params.incarnation, now);
      try {
        return await link.request('repair', params);
      } catch (e) {
        if (e instanceof RpcException && e.code === ErrorCodes.WrongIncarnation) throw new IncarnationChangedError(params.incarnation, undefined);
        // A refusal by the cluster is an answer; only a lost link is worth a retry.
        if (e instanceof RpcException || (this.link === link && this.state === 'live')) throw e;
        this.options.log(`[${this.name}] repair ${params.requestId}: link lost, retrying after reconnect`);
      }
    }
  }

  /** Resolves true once the model has applied event `seq` (or a later sync), false on timeout. */
  waitForSeq(seq: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.lastSeq >= seq && this.state === 'live', timeoutMs);
  }

  /** Resolves true once `test()` holds (checked on every state/model change), false on timeout. */
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
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Closes the link for good; `reason` (e.g. why the first connection failed) stays as the session's error. */
  dispose(reason: string | null = null): void {
    this.disposed = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const link = this.link;
    this.link = null;
    link?.close();
    this.setState('disconnected', reason);
  }

  // ------------------------------------------------------------- internals --

  private async connectAndSync(): Promise<void> {
    this.setState(this.model ? 'stale' : 'connecting', this.error);
    const link = await this.options.connect({ url: this.url, token: this.options.token, clientName: 'cluster-debugger' });
    if (this.disposed) {
      link.close();
      throw new SyncCancelledError();
    }
    this.link = link;
    link.onEvents((n) => this.onEvents(link, n));
    link.onClose((reason) => this.onClose(link, reason));
    // The old model stays on show (stale) until the sync replaces it; a new incarnation's
    // status must not make it look like that cluster's.
    if (this.currentModel && link.init.status.incarnation === this.currentModel.status.incarnation) this.currentModel.status = link.init.status;
    await this.sync(link);
    this.attempt = 0;
  }

  private sync(link: ClusterLink): Promise<void> {
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
        } while (this.resyncRequested && this.link === link && !this.disposed);
      } finally {
        this.syncRun = null;
      }
    })();
    return this.syncRun;
  }

  private async syncOnce(link: ClusterLink): Promise<void> {
    const started = Date.now();
    this.buffer = [];
    this.setState(this.model ? (this.state === 'live' ? 'syncing' : this.state) : 'syncing', this.error);
    try {
      const firstView = !this.model && (await this.readSummary(link));
      this.progress = { done: 0, total: this.expectedTotal(link), started };
      // The first view goes out with the progress it starts, so the views show both at once.
      if (firstView) for (const l of this.listeners) safely(() => l.summaryChanged?.(this), this.options.log);
      this.reportProgress();
      const { seq } = await link.request('cluster.subscribe', {});
      const collections = emptyCollections();
      let total = 0;
      for (const c of COLLECTION_NAMES) {
        // The client validates every page against the entity schema.
        const map = collections[c] as EntityMap<Entity>;
        for await (const page of link.listAll(c, { limit: MAX_PAGE_LIMIT })) {
          for (const item of page) map.set(item.key, item);
          this.progress.done += page.length;
          this.reportProgress();
        }
        total += map.size;
      }
      const status = await link.request('cluster.status', {});
      if (this.disposed) throw new SyncCancelledError();
      if (this.link !== link) {
        this.endProgress({ phase: 'failed', message: 'the connection was replaced' });
        return;
      }
      const model: ClusterModel = { status: { ...status, seq }, collections };
      const buffered = this.buffer;
      this.buffer = null;
      this.appliedSeq = seq;
      this.currentModel = model;
      let gap = false;
      for (const n of buffered) if (!this.applyBatch(n)) gap = true;
      this.generation++;
      this.options.log(`[${this.name}] synced ${total} entities at seq ${this.lastSeq} in ${Date.now() - started} ms`);
      this.endProgress({ phase: 'done' });
      this.setState('live', null);
      this.emitModel(new Set(SUBSYSTEMS));
      if (gap) this.resyncRequested = true;
    } catch (e) {
      this.buffer = null;
      const cancelled = this.disposed;
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
      if (this.disposed) throw e;
      this.options.log(`[${this.name}] cluster.summary failed (${errorText(e)}); syncing in full first`);
      return false;
    }
    if (this.link !== link || this.disposed || this.model) return false;
    this.currentSummary = summary;
    this.currentSummaryStatus = link.init.status;
    this.options.log(`[${this.name}] summary: ${summaryTotal(summary)} entities at seq ${summary.seq} in ${Date.now() - started} ms`);
    return true;
  }

  /** How many entities the sync will read: the summary's count, else the status's (the first sync's from `initialize`). */
  private expectedTotal(link: ClusterLink): number {
    if (this.currentSummary && !this.model) return summaryTotal(this.currentSummary);
    const counts = (this.model?.status ?? link.init.status).counts;
    return Object.values(counts).reduce((n, x) => n + x, 0);
  }

  private reportProgress(): void {
    const progress = this.syncProgress;
    for (const l of this.listeners) safely(() => l.syncProgress?.(this, progress), this.options.log);
  }

  private endProgress(outcome: SyncOutcome): void {
    if (!this.progress) return;
    this.progress = null;
    for (const l of this.listeners) safely(() => l.syncProgress?.(this, null, outcome), this.options.log);
  }

  private invalid(c: CollectionName): void {
    if (this.invalidItems++ < 5) this.options.log(`[${this.name}] skipped an invalid ${c} entity`);
  }

  private onEvents(link: ClusterLink, n: EventsNotification): void {
    if (link !== this.link || this.disposed) return;
    if (this.buffer) {
      this.buffer.push(n);
      return;
    }
    if (!this.model) return;
    if (n.reset) {
      this.options.log(`[${this.name}] the cluster was reset; resyncing`);
      this.sync(link).catch((e) => this.syncFailed(link, e));
      return;
    }
    const dirty = new Set<Subsystem>();
    const ok = this.applyBatch(n, dirty);
    if (dirty.size) {
      this.generation++;
      this.emitModel(dirty);
    }
    if (!ok) {
      this.options.log(`[${this.name}] event gap (have ${this.lastSeq}, got ${n.fromSeq}); resyncing`);
      this.sync(link).catch((e) => this.syncFailed(link, e));
    }
  }

  /**
   * A resync that fails leaves a model of unknown age, and the event stream
   * can no longer be trusted: treat it as a dropped link (stale, then
   * reconnect and sync from scratch) rather than stay `syncing` for good.
   */
  private syncFailed(link: ClusterLink, e: unknown): void {
    this.options.log(`[${this.name}] resync failed: ${errorText(e)}`);
    if (link !== this.link || this.disposed) return; // the drop was handled already
    this.onClose(link, `resync failed: ${errorText(e)}`);
    link.close();
  }

  /** Applies a batch after `lastSeq`. Returns false on a gap (the caller resyncs). */
  private applyBatch(n: EventsNotification, dirty?: Set<Subsystem>): boolean {
    const model = this.model;
    if (!model) return false;
    if (n.reset) return false;
    if (n.fromSeq > this.lastSeq + 1) return false;
    for (const event of n.events) {
      if (event.seq <= this.lastSeq) continue;
      if (this.applyEvent(model.collections, event, n.time)) dirty?.add(COLLECTIONS[event.collection].subsystem);
      this.appliedSeq = event.seq;
    }
    model.status = { ...model.status, seq: this.lastSeq, time: n.time };
    return true;
  }

  /** Version-guarded: an event older than what the model holds changes nothing. */
  private applyEvent(collections: CollectionMaps, event: ChangeEvent, time: number): boolean {
    const map = collections[event.collection] as EntityMap<Entity>;
    const current = map.get(event.key);
    if (event.op === 'delete') {
      if (!current || current.version > event.version) return false;
      map.delete(event.key);
      this.entityChanged(event, time, current, undefined);
      return true;
    }
    const parsed = COLLECTIONS[event.collection].schema.safeParse(event.item);
    if (!parsed.success) {
      this.invalid(event.collection);
      return false;
    }
    const item = parsed.data as Entity;
    if (current && current.version >= item.version) return false;
    map.set(item.key, item);
    this.entityChanged(event, time, current, item);
    return true;
  }

  private entityChanged(event: ChangeEvent, time: number, before: Entity | undefined, after: Entity | undefined): void {
    for (const l of this.listeners) {
      if (!l.entityChanged) continue;
      const change = { seq: event.seq, time, collection: event.collection, key: event.key, before, after } as StateChange;
      safely(() => l.entityChanged!(this, change), this.options.log);
    }
  }

  private onClose(link: ClusterLink, reason: string): void {
    if (link !== this.link || this.disposed) return;
    this.link = null;
    this.buffer = null;
    this.options.log(`[${this.name}] connection lost: ${reason}`);
    if (this.options.reconnect === false) {
      this.setState('disconnected', `connection lost: ${reason}`);
      return;
    }
    this.setState(this.model ? 'stale' : 'disconnected', `connection lost: ${reason}`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connectAndSync().catch((e) => {
        if (this.disposed) return;
        this.link?.close();
        this.link = null;
        this.setState(this.model ? 'stale' : 'disconnected', `reconnect failed: ${errorText(e)}`);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private setState(state: ConnectionState, error: string | null): void {
    const changed = state !== this.state || error !== this.error;
    this.currentState = state;
    this.lastError = error;
    if (changed) for (const l of this.listeners) safely(() => l.stateChanged(this), this.options.log);
    this.wake();
  }

  private emitModel(dirty: ReadonlySet<Subsystem>): void {
    for (const l of this.listeners) safely(() => l.modelChanged(this, dirty), this.options.log);
    this.wake();
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

function safely(fn: () => void, log: (m: string) => void): void {
  try {
    fn();
  } catch (e) {
    log(`listener failed: ${errorDetail(e)}`);
  }
}

