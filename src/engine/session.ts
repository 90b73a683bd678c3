/**
 * One cluster session: the WebSocket link, the synced model, and keeping it
 * in step with the cluster. This module is the connection; the full sync is
 * `FullSync` (`session-sync.ts`: subscribe, pages, the first view, progress)
 * and applying events is `SyncedModel` (`session-events.ts`, version-guarded); re-reading the
 * status is `StatusPoller` (`session-status.ts`) and sending a repair is `sendRepair`
 * (`session-repair.ts`: at most once, to the same incarnation).
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
  errorDetail,
  errorText,
  type Caller,
  type ConnectionState,
  type EventsNotification,
  type RepairParams,
  type RepairResult,
  type ClusterStatus,
  type Subsystem,
  type SummaryResult,
  type SyncProgress,
} from '../protocol';
import type { ClusterModel } from '../analysis/model';
import type { StateChange } from '../analysis/timeline';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import type { ClusterLink, LinkFactory, SessionCore } from './link';
import { SyncedModel } from './session-events';
import { Waiters } from './waiters';
import { FullSync, SyncCancelledError, type SyncOutcome } from './session-sync';
import { DEFAULT_STATUS_POLL_MS, StatusPoller } from './session-status';
import { NotLiveError, sendRepair, type RepairHost } from './session-repair';

export { DEFAULT_STATUS_POLL_MS } from './session-status';
export { IncarnationChangedError, NotLiveError } from './session-repair';

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
   * Reconnect attempts in a row after a drop before the session gives up and is `disconnected`
   * (its error says so); undefined: it never gives up (the language server). `cluster-check --watch`
   * sets it, to exit non-zero once the cluster stays gone.
   */
  maxReconnects?: number;
  /**
   * How often `cluster.status` is read again while live, in ms (0: never). A gateway's subsystem
   * health and read-only flag change without any entity event; this is how they reach the views.
   */
  statusPollMs?: number;
}

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
  private lastCaller: Caller | undefined;

  link: ClusterLink | null = null; // read by shared-journal.ts (a gateway journal's methods); set only here
  private readonly listeners: SessionListener[] = [];
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  private readonly waiters = new Waiters();
  /** The model, and the events applied to it. */
  private readonly synced: SyncedModel;
  /** The full syncs: pages, the first view, progress. */
  private readonly fullSync: FullSync;
  /** Re-reads `cluster.status` while live. */
  private readonly status: StatusPoller;
  private readonly repairHost: RepairHost;

  constructor(private readonly options: SessionOptions) {
    this.name = options.name;
    this.url = options.url;
    const log = options.log;
    this.synced = new SyncedModel({
      entityChanged: (event, time, before, after) => {
        for (const l of this.listeners) {
          if (!l.entityChanged) continue;
          const change = { seq: event.seq, time, collection: event.collection, key: event.key, before, after } as StateChange;
          safely(() => l.entityChanged!(this, change), log);
        }
      },
      invalid: (c) => {
        if (this.invalidItems++ < 5) log(`[${this.name}] skipped an invalid ${c} entity`);
      },
    });
    // What the sync, the status re-read and a repair's sending all read of the session.
    const core: SessionCore = { name: this.name, log, link: () => this.link, disposed: () => this.disposed, state: () => this.state };
    this.fullSync = new FullSync({
      ...core,
      model: this.synced,
      error: () => this.error,
      setState: (state, error) => this.setState(state, error),
      bumpGeneration: () => void this.generation++,
      modelChanged: (dirty) => this.emitModel(dirty),
      summaryChanged: () => {
        for (const l of this.listeners) safely(() => l.summaryChanged?.(this), log);
      },
      syncProgress: (...progress) => {
        for (const l of this.listeners) safely(() => l.syncProgress?.(this, ...progress), log);
      },
    });
    this.status = new StatusPoller({
      ...core,
      model: this.synced,
      syncing: () => this.fullSync.syncing,
      statusChanged: (changed) => {
        this.generation++;
        for (const l of this.listeners) safely(() => l.statusChanged?.(this, changed), log);
        this.waiters.wake();
      },
    });
    this.repairHost = {
      ...core,
      modelIncarnation: () => this.synced.current?.status.incarnation,
      waitFor: (test, timeoutMs) => this.waitFor(test, timeoutMs),
    };
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
    return this.synced.current;
  }

  /**
   * The cluster's counts (`cluster.summary`) read before the first sync, if it serves them: the
   * first view, until the model exists. Null for a cluster without the method (it syncs in full first).
   */
  get summary(): SummaryResult | null {
    return this.fullSync.summary;
  }

  /**
   * The cluster's status as `initialize` gave it, when the summary was read: the configuration,
   * epoch and time that the checks on counts read with it. Null without a summary.
   */
  get summaryStatus(): ClusterStatus | null {
    return this.fullSync.summaryStatus;
  }

  /** The full sync in progress (entities read, of how many, how fast), or null. */
  get syncProgress(): SyncProgress | null {
    return this.fullSync.syncProgress;
  }

  /** When the last full sync ended (ms since the epoch), or null before the first. */
  get syncedAt(): number | null {
    return this.fullSync.syncedAt;
  }

  /** The incarnation of the cluster the model was synced from (plans made on it carry it). */
  get incarnation(): string | undefined {
    return this.synced.current?.status.incarnation;
  }

  /** Who the connection is, on a gateway with per-user tokens (`initialize`'s caller); kept while the link is down. */
  get caller(): Caller | undefined {
    return this.lastCaller;
  }

  /** The last cluster event applied. */
  get lastSeq(): number {
    return this.synced.seq;
  }

  addListener(listener: SessionListener): void {
    this.listeners.push(listener);
  }

  /** First connection and sync. Rejects if it fails; later drops reconnect on their own (if enabled). */
  async start(): Promise<void> {
    await this.connectAndSync();
    this.status.start(this.options.statusPollMs ?? DEFAULT_STATUS_POLL_MS);
  }

  /** Force a full resync (the `refresh` request; a gap; after a repair whose events did not arrive). */
  async resync(): Promise<void> {
    const link = this.link;
    if (!link) throw new NotLiveError(this.state);
    try {
      await this.fullSync.run(link);
    } catch (e) {
      this.syncFailed(link, e);
      throw e;
    }
  }

  /** Re-reads `cluster.status` into the model (`session-status.ts`); `statusChanged` when its subsystems' part changed. */
  refreshStatus(): Promise<void> {
    return this.status.refresh();
  }

  /** Sends one repair: at most once, and only to the incarnation it was planned on (`session-repair.ts`). */
  sendRepair(params: RepairParams, deadlineMs = 30_000): Promise<RepairResult> {
    return sendRepair(this.repairHost, params, deadlineMs);
  }

  /** Resolves true once the model has applied event `seq` (or a later sync), false on timeout. */
  waitForSeq(seq: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.lastSeq >= seq && this.state === 'live', timeoutMs);
  }

  /** Resolves true once `test()` holds (checked on every state/model change), false on timeout. */
  waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.waiters.waitFor(test, timeoutMs);
  }

  /** Closes the link for good; `reason` (e.g. why the first connection failed) stays as the session's error. */
  dispose(reason: string | null = null): void {
    this.disposed = true;
    this.status.stop();
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
    this.lastCaller = link.init.caller;
    link.onEvents((n) => this.onEvents(link, n));
    link.onClose((reason) => this.onClose(link, reason));
    // The old model stays on show (stale) until the sync replaces it; a new incarnation's
    // status must not make it look like that cluster's.
    const model = this.synced.current;
    if (model && link.init.status.incarnation === model.status.incarnation) model.status = link.init.status;
    await this.fullSync.run(link);
    this.attempt = 0;
  }

  private onEvents(link: ClusterLink, n: EventsNotification): void {
    if (link !== this.link || this.disposed) return;
    if (this.fullSync.hold(n)) return;
    if (!this.model) return;
    if (n.reset) {
      this.options.log(`[${this.name}] the cluster was reset; resyncing`);
      this.fullSync.run(link).catch((e) => this.syncFailed(link, e));
      return;
    }
    const dirty = new Set<Subsystem>();
    const ok = this.synced.applyBatch(n, dirty);
    if (dirty.size) {
      this.generation++;
      this.emitModel(dirty);
    }
    if (!ok) {
      this.options.log(`[${this.name}] event gap (have ${this.lastSeq}, got ${n.fromSeq}); resyncing`);
      this.fullSync.run(link).catch((e) => this.syncFailed(link, e));
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

  private onClose(link: ClusterLink, reason: string): void {
    if (link !== this.link || this.disposed) return;
    this.link = null;
    this.fullSync.dropBuffer();
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
    const max = this.options.maxReconnects;
    if (max !== undefined && this.attempt >= max) {
      this.setState('disconnected', `${this.error ?? 'connection lost'}; gave up after ${max} reconnect attempt${max === 1 ? '' : 's'}`);
      return;
    }
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
    this.waiters.wake();
  }

  private emitModel(dirty: ReadonlySet<Subsystem>): void {
    for (const l of this.listeners) safely(() => l.modelChanged(this, dirty), this.options.log);
    this.waiters.wake();
  }
}

function safely(fn: () => void, log: (m: string) => void): void {
  try {
    fn();
  } catch (e) {
    log(`listener failed: ${errorDetail(e)}`);
  }
}
