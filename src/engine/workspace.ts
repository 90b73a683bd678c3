/**
 * The set of connected clusters, and everything the editor and the CLI do
 * with them: connect and disconnect, debounced checks, plans pinned to a
 * finding, catching up after a repair, `applyRepair` and `applyAllSafe`.
 *
 * The language server translates this to LSP (diagnostics, code actions,
 * progress); `cluster-check` drives it headless. Both therefore apply the
 * same repairs under the same rules (no LSP here: the layer rules forbid it).
 */
import {
  clusterKey,
  CONFIG_DEFAULTS,
  errorDetail,
  errorText,
  plural,
  SUBSYSTEMS,
  type ApplyRepairResult,
  type ClusterInfo,
  type Finding,
  type FindingSummary,
  type PlanAllSafeResult,
  type ProtectionLevel,
  type RepairPreview,
  type RuleId,
  type Subsystem,
  type SyncProgress,
  type TopologyResult,
  type TimelineResult,
  type FindEntityResult,
} from '../protocol';
import { queryTimeline, type TimelineQuery } from '../analysis';
import type { RuleSettings } from './checker';
import type { BackoffOptions } from './backoff';
import type { LinkFactory } from './link';
import type { RepairJournal } from './journal';
import { ClusterSession } from './session';
import type { SyncOutcome } from './session-sync';
import { topologyOf } from './topology';
import { BadCursorError, findEntityPage } from './find';
import {
  clusterInfo,
  ConnectError,
  findingSummary,
  newClusterEntry,
  WorkspaceError,
  type ClusterEntry,
  type WorkspaceCluster,
} from './cluster';
import { RepairRunner, type AllSafeHooks, type PlannedRepair, type RepairHooks } from './repair-runner';

/** Events arrive in bursts; checks run once per burst, not per event. */
const CHECK_DEBOUNCE_MS = 150;

export interface WorkspaceListener {
  /**
   * A cluster's findings, documents or connection state changed. `subsystems`
   * lists the documents whose text or findings changed (empty: only re-publish
   * what differs, e.g. the stale marker).
   */
  changed(cluster: WorkspaceCluster, subsystems: readonly Subsystem[]): void;
  /** The cluster was disconnected and forgotten. */
  removed(cluster: WorkspaceCluster): void;
  /**
   * A full sync read another page (`progress`), or ended (`progress` null, `outcome` says how). A
   * sync cancelled by `disconnect` ends with `removed`, not here: the cluster is forgotten first.
   */
  syncProgress?(cluster: WorkspaceCluster, progress: SyncProgress | null, outcome?: SyncOutcome): void;
}

export interface WorkspaceOptions {
  connect: LinkFactory;
  log: (message: string) => void;
  rules?: RuleSettings;
  /** Reconnect after the link drops (the language server); the CLI makes a single attempt; `maxReconnects`: give up after that many in a row (`--watch`). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  maxReconnects?: number;
  catchUpMs?: number;
  /** How often a live session re-reads `cluster.status` (subsystem health, read-only), in ms; 0: never. */
  statusPollMs?: number;
  /** Who runs the repairs, as the journal records it (default `editor`). */
  journalSource?: 'editor' | 'cli';
  /** How many state transitions each cluster's timeline keeps (`clusterDebugger.timeline.maxTransitions`). */
  maxTransitions?: number;
}

export class ClusterWorkspace {
  private readonly clusters = new Map<string, ClusterEntry>();
  private readonly listeners: WorkspaceListener[] = [];
  private rules: RuleSettings;
  /** Where every repair is journalled (none: repairs are not journalled, and undo is not offered). */
  private repairJournal: RepairJournal | undefined;
  private maxTransitions: number;
  /** Previews, repairs, undo and "all safe": the methods below of the same names delegate to it. */
  private readonly repairs: RepairRunner;

  constructor(private readonly options: WorkspaceOptions) {
    this.rules = options.rules ?? {};
    this.maxTransitions = options.maxTransitions ?? CONFIG_DEFAULTS['timeline.maxTransitions'];
    this.repairs = new RepairRunner({
      log: options.log,
      catchUpMs: options.catchUpMs,
      journalSource: options.journalSource,
      journal: () => this.repairJournal,
      rules: () => this.rules,
      list: () => [...this.clusters.values()],
      find: (name) => this.clusters.get(clusterKey(name)),
      entry: (name) => this.entry(name),
      flushChecks: (c) => this.flushChecks(c),
      scheduleCheck: (c) => this.scheduleCheck(c, CHECK_DEBOUNCE_MS),
      pin: (c, findingId) => this.pin(c, findingId),
    });
  }

  addListener(listener: WorkspaceListener): void {
    this.listeners.push(listener);
  }

  setJournal(journal: RepairJournal | undefined): void {
    this.repairJournal = journal;
  }

  get journal(): RepairJournal | undefined {
    return this.repairJournal;
  }

  get ruleSettings(): RuleSettings {
    return this.rules;
  }

  setRules(rules: RuleSettings): void {
    this.rules = rules;
    for (const c of this.clusters.values()) {
      c.checker.setRules(rules);
      if (this.checkSummary(c).length) this.emitChanged(c, SUBSYSTEMS);
      this.scheduleCheck(c, 0);
    }
  }

  /** Bounds every cluster's timeline to `max` transitions (the newest are kept); the timeline rule re-checks. */
  setMaxTransitions(max: number): void {
    if (max === this.maxTransitions) return;
    this.maxTransitions = max;
    for (const c of this.clusters.values()) {
      c.timeline.setCapacity(max);
      c.checker.markDirty(SUBSYSTEMS);
      this.scheduleCheck(c, 0);
    }
  }

  list(): WorkspaceCluster[] {
    return [...this.clusters.values()];
  }

  /** The cluster of that name (names are case-insensitive), or undefined. */
  get(name: string): WorkspaceCluster | undefined {
    return this.clusters.get(clusterKey(name));
  }

  require(name: string): WorkspaceCluster {
    return this.entry(name);
  }

  // ----------------------------------------------------------- connections --

  /**
   * Connects and syncs (replacing a cluster of the same name). If the first
   * connection fails, the cluster stays listed with its error, so views can
   * say why, and this throws.
   */
  async connect(params: { name: string; url: string; token: string; protection?: ProtectionLevel }): Promise<ClusterInfo> {
    const key = clusterKey(params.name);
    const existing = this.clusters.get(key);
    if (existing) this.forget(existing);
    const session = new ClusterSession({
      name: params.name,
      url: params.url,
      token: params.token,
      connect: this.options.connect,
      log: this.options.log,
      reconnect: this.options.reconnect ?? true,
      backoff: this.options.backoff,
      maxReconnects: this.options.maxReconnects,
      statusPollMs: this.options.statusPollMs,
    });
    const entry = newClusterEntry(params.name, session, this.rules, params.protection ?? 'none', this.maxTransitions);
    this.clusters.set(key, entry);
    session.addListener({
      // Stale or live again: the diagnostics' stale marker changes, and so do the views.
      stateChanged: () => this.emitChanged(entry, SUBSYSTEMS),
      modelChanged: (_s, dirty) => {
        entry.checker.markDirty(dirty);
        this.scheduleCheck(entry, Math.max(CHECK_DEBOUNCE_MS, entry.lastCheckMs));
      },
      // A subsystem became (un)available or not configured, or the cluster read-only: re-check
      // (unreadable records are findings) and tell the views, even if no finding changed.
      statusChanged: (_s, subsystems) => {
        for (const s of subsystems) entry.statusDirty.add(s);
        entry.checker.markDirty(subsystems);
        this.scheduleCheck(entry, CHECK_DEBOUNCE_MS);
      },
      // The first view: the views show the summary's groups and counts while the pages are read,
      // and the checks on counts report what the counts prove already (provisional findings).
      summaryChanged: () => {
        this.checkSummary(entry);
        this.emitChanged(entry, SUBSYSTEMS);
      },
      syncProgress: (_s, progress, outcome) => {
        // A first sync that did not end leaves no provisional finding behind (the next state change republishes).
        if (!progress && outcome?.phase !== 'done' && !session.model) entry.checker.clearProvisional();
        this.emit(entry, (l) => l.syncProgress?.(entry, progress, outcome));
      },
      entityChanged: (_s, change) => entry.timeline.observe(change),
    });
    this.emitChanged(entry, SUBSYSTEMS);
    try {
      await session.start();
    } catch (e) {
      // Keep the entry so the tree can show an error node; the user reconnects explicitly.
      session.dispose(errorText(e));
      throw new ConnectError(params.name, errorText(e));
    }
    await this.flushChecks(entry);
    return this.info(entry);
  }

  disconnect(name: string): void {
    const c = this.entry(name);
    this.forget(c);
    for (const l of this.listeners) l.removed(c);
  }

  /** Resyncs one cluster, or all; a cluster that is down resyncs when it reconnects. */
  async refresh(name?: string): Promise<ClusterInfo[]> {
    const targets = name ? [this.entry(name)] : [...this.clusters.values()];
    for (const c of targets) {
      if (c.session.state === 'stale' || c.session.state === 'disconnected') continue;
      await c.session.resync();
      await this.flushChecks(c);
    }
    return targets.map((c) => this.info(c));
  }

  infos(): ClusterInfo[] {
    return [...this.clusters.values()].map((c) => this.info(c));
  }

  info(c: WorkspaceCluster): ClusterInfo {
    return clusterInfo(c);
  }

  /** Changes a connected cluster's protection level (its setting changed). */
  setProtection(name: string, protection: ProtectionLevel): ClusterInfo {
    const c = this.entry(name);
    if (c.protection !== protection) {
      c.protection = protection;
      this.options.log(`[${c.name}] protection: ${protection}`);
      this.emitChanged(c, []);
    }
    return this.info(c);
  }

  dispose(): void {
    for (const c of this.clusters.values()) this.forget(c);
  }

  // ---------------------------------------------------------------- checks --

  /**
   * The checks on counts, while the first sync reads the pages: their provisional findings stand
   * until the first check of the model replaces them. Returns the subsystems whose findings changed.
   */
  private checkSummary(c: ClusterEntry): Subsystem[] {
    const { summary, summaryStatus, model } = c.session;
    if (!summary || !summaryStatus || model) return [];
    const started = Date.now();
    const changed = c.checker.checkSummary(summary, summaryStatus);
    // Not "checked … in N ms": that line is the full check's (the bench reads it).
    this.options.log(
      `[${c.name}] from the counts: ${plural(c.checker.provisionalCount, 'provisional finding')} (${Date.now() - started} ms)`,
    );
    return changed;
  }

  private scheduleCheck(c: ClusterEntry, delayMs: number): void {
    if (c.timer || c.repairing > 0) return;
    c.timer = setTimeout(() => {
      c.timer = null;
      this.flushChecks(c).catch((e) => this.options.log(`checks of ${c.name} failed: ${errorText(e)}`));
    }, delayMs);
  }

  /** Runs pending checks now (and waits for one already running), then tells the listeners. */
  async flushChecks(cluster: WorkspaceCluster): Promise<void> {
    const c = this.entryOf(cluster);
    if (c.timer) {
      clearTimeout(c.timer);
      c.timer = null;
    }
    while (c.checking) await c.checking;
    if (!c.checker.hasDirty || !c.session.model) return;
    c.checking = (async () => {
      try {
        await c.session.refreshStatus().catch((e) => this.options.log(`[${c.name}] status refresh failed: ${errorText(e)}`));
        const model = c.session.model;
        if (!model) return;
        const started = Date.now();
        const changed = c.checker.recheck(model, c.timeline.toArray());
        for (const s of changed) c.statusDirty.delete(s);
        changed.push(...SUBSYSTEMS.filter((s) => c.statusDirty.has(s)));
        c.statusDirty.clear();
        c.lastCheckMs = Date.now() - started;
        for (const id of c.pinned.keys()) if (!c.checker.finding(id)) c.pinned.delete(id);
        this.options.log(`[${c.name}] checked ${changed.join(', ') || 'nothing new'} in ${c.lastCheckMs} ms`);
        this.emitChanged(c, changed);
      } finally {
        c.checking = null;
      }
    })();
    await c.checking;
  }

  // -------------------------------------------------------------- findings --

  /** Current findings, as the editor lists them. Reading them pins nothing. */
  findings(filter: { cluster?: string; subsystem?: Subsystem } = {}): FindingSummary[] {
    const out: FindingSummary[] = [];
    const targets = filter.cluster ? [this.get(filter.cluster)].filter((c) => c !== undefined) : this.list();
    for (const c of targets) for (const f of c.checker.findings(filter.subsystem)) out.push(findingSummary(c.name, f));
    return out;
  }

  /** The nodes of one cluster (or of every one), what each holds and the problems on each. Pins nothing. */
  topology(filter: { cluster?: string } = {}): TopologyResult {
    const targets = filter.cluster ? [this.require(filter.cluster)] : this.list();
    return { clusters: targets.map((c) => topologyOf(c)) };
  }

  /**
   * The plan a repair of this finding will send: the one pinned when the user
   * was shown it (a code action), else the current finding, pinned now.
   */
  plan(cluster: string, findingId: string): FindingSummary | null {
    const c = this.get(cluster);
    if (!c) return null;
    const f = this.pin(c, findingId);
    return f ? findingSummary(c.name, f) : null;
  }

  /** Pins the current finding (a code action shows it now). */
  pinCurrent(cluster: WorkspaceCluster, findingId: string): Finding | undefined {
    const c = this.entryOf(cluster);
    const f = c.checker.finding(findingId);
    if (f) c.pinned.set(f.id, { finding: f, incarnation: c.checker.incarnation });
    return f;
  }

  private pin(cluster: WorkspaceCluster, findingId: string): Finding | undefined {
    const c = this.entryOf(cluster);
    return c.pinned.get(findingId)?.finding ?? this.pinCurrent(c, findingId);
  }

  // ------------------------------------------------------------------ find --

  /** A page of the entities whose key holds `query`, of one cluster or every connected one (`clusterDebugger/findEntity`). */
  findEntity(params: { query: string; cluster?: string; cursor?: string | null; limit: number }): FindEntityResult {
    const targets = params.cluster !== undefined ? [this.require(params.cluster)] : this.list();
    try {
      return findEntityPage(targets, params.query, params.limit, params.cursor);
    } catch (e) {
      if (e instanceof BadCursorError) throw new WorkspaceError(e.message);
      throw e;
    }
  }

  // -------------------------------------------------------------- timeline --

  /** The cluster's recorded transitions that match `query`, newest first (`clusterDebugger/timeline`). */
  timeline(name: string, query: TimelineQuery): TimelineResult {
    const c = this.entry(name);
    const { timeline } = c;
    return queryTimeline(
      c.name,
      c.session.model,
      { transitions: timeline.toArray(), capacity: timeline.capacity, dropped: timeline.dropped },
      query,
      c.checker.findings(),
    );
  }

  // ------------------------------------------------------ repairs (runner) --

  // Each is RepairRunner's method of the same name (repair-runner.ts says what it does).
  preview(args: { cluster: string; findingId: string; repairId: string }): Promise<RepairPreview | null> {
    return this.repairs.preview(args);
  }
  applyRepair(args: { cluster: string; findingId: string; repairId: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    return this.repairs.applyRepair(args, hooks);
  }
  undoRepair(args: { id?: string; cluster?: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    return this.repairs.undoRepair(args, hooks);
  }
  planAllSafe(cluster: WorkspaceCluster, rules?: readonly RuleId[], tried: ReadonlySet<string> = new Set()): PlannedRepair[] {
    return this.repairs.planAllSafe(cluster, rules, tried);
  }
  summarizeAllSafe(name: string): Promise<PlanAllSafeResult> {
    return this.repairs.summarizeAllSafe(name);
  }
  applyAllSafe(name: string, hooks: AllSafeHooks = {}): Promise<ApplyRepairResult> {
    return this.repairs.applyAllSafe(name, hooks);
  }

  // ------------------------------------------------------------- internals --

  private entry(name: string): ClusterEntry {
    const c = this.clusters.get(clusterKey(name));
    if (!c) throw new WorkspaceError(`no cluster named ${name} is connected`);
    return c;
  }

  private entryOf(cluster: WorkspaceCluster): ClusterEntry {
    const c = this.clusters.get(clusterKey(cluster.name));
    if (c !== cluster) throw new WorkspaceError(`${cluster.name} is no longer connected`);
    return c;
  }

  /** Drops the cluster first, so that its session's last state change reaches no listener. */
  private forget(c: ClusterEntry): void {
    if (this.clusters.get(clusterKey(c.name)) === c) this.clusters.delete(clusterKey(c.name));
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    c.session.dispose();
  }

  private emitChanged(c: ClusterEntry, subsystems: readonly Subsystem[]): void {
    this.emit(c, (l) => l.changed(c, subsystems));
  }

  /** Tells each listener, unless the cluster was forgotten meanwhile; a listener that throws is logged. */
  private emit(c: ClusterEntry, tell: (l: WorkspaceListener) => void): void {
    if (this.clusters.get(clusterKey(c.name)) !== c) return;
    for (const l of this.listeners) {
      try {
        tell(l);
      } catch (e) {
        this.options.log(`listener failed: ${errorDetail(e)}`);
      }
    }
  }
}
