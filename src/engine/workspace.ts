/**
 * The set of connected clusters, and everything the editor and the CLI do
 * with them: connect and disconnect, debounced checks, plans pinned to a
 * finding, catching up after a repair, `applyRepair` and `applyAllSafe`.
 *
 * The language server translates this to LSP (diagnostics, code actions,
 * progress); `cluster-check` drives it headless. Both therefore apply the
 * same repairs under the same rules.
 *
 * No `vscode-languageserver` here.
 */
import {
  clusterKey,
  CONFIG_DEFAULTS,
  errorDetail,
  errorText,
  formatCount,
  plural,
  SUBSYSTEMS,
  type ApplyRepairResult,
  type ClusterInfo,
  type Finding,
  type FindingSummary,
  type PlanAllSafeResult,
  type ProtectionLevel,
  type RepairOption,
  type RepairPreview,
  type RuleId,
  type Subsystem,
  type SyncProgress,
  type TopologyResult,
  type TimelineResult,
  type FindEntityResult,
  repairRefusal,
} from '../protocol';
import { previewRepair, queryTimeline, Timeline, type TimelineQuery } from '../analysis';
import { ClusterChecker, type RuleSettings } from './checker';
import type { BackoffOptions } from './backoff';
import type { LinkFactory } from './link';
import { buildUndo, readJournal, type RepairJournal } from './journal';
import { executeRepair, type PlannedOption, type RepairOutcome } from './repairs';
import { ClusterSession, type SyncOutcome } from './session';
import { topologyOf } from './topology';
import { BadCursorError, findEntityPage } from './find';
import { readOnlyReason as protectionReadOnlyReason } from '../protocol/preview';

/** Events arrive in bursts; checks run once per burst, not per event. */
const CHECK_DEBOUNCE_MS = 150;
/** How long to wait for a repair's own events before falling back to a full resync. */
const DEFAULT_CATCH_UP_MS = 10_000;
/**
 * "All safe" applies, per finding, its first safe repair not tried yet; a
 * finding that a round did not clear gets its next safe repair in the next
 * round, up to this many rounds.
 */
export const MAX_SAFE_ROUNDS = 3;

export const OFFLINE_REPAIR_REASON = 'Repairs need a live connection to the cluster';

/** One connected (or failed, or reconnecting) cluster. */
export interface WorkspaceCluster {
  readonly name: string;
  readonly session: ClusterSession;
  readonly checker: ClusterChecker;
  /** How much this cluster is protected from repairs; `read-only` is enforced before anything is sent. */
  readonly protection: ProtectionLevel;
  /** Its entities' state transitions, from the change events (bounded: `WorkspaceOptions.maxTransitions`). */
  readonly timeline: Timeline;
}

interface Pinned {
  finding: Finding;
  incarnation: string | undefined;
}

interface ClusterEntry extends WorkspaceCluster {
  timer: NodeJS.Timeout | null;
  checking: Promise<void> | null;
  /** How long the last check took: the next one waits at least as long, so checks use at most half the CPU. */
  lastCheckMs: number;
  /**
   * Repairs of this cluster in progress. Meanwhile the events they cause only
   * mark subsystems dirty: re-checking 760,000 shards after every batch would
   * take the CPU the batches need, and the views are updated once, when the
   * repair has caught up.
   */
  repairing: number;
  /**
   * The finding as the user last saw it (a code action, a plan request), and
   * the incarnation it was computed on. A repair sends that plan, so whatever
   * moved on since is refused by the cluster, like eslint refuses a fix for a
   * changed document version; a plan from before a restart is never sent.
   */
  pinned: Map<string, Pinned>;
  /** Subsystems whose health changed (`statusChanged`): the next check announces them even if their findings did not change. */
  statusDirty: Set<Subsystem>;
  protection: ProtectionLevel;
}

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
  /** Reconnect after the link drops (the language server); the CLI makes a single attempt. */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  catchUpMs?: number;
  /** How often a live session re-reads `cluster.status` (subsystem health, read-only), in ms; 0: never. */
  statusPollMs?: number;
  /** Who runs the repairs, as the journal records it (default `editor`). */
  journalSource?: 'editor' | 'cli';
  /** How many state transitions each cluster's timeline keeps (`clusterDebugger.timeline.maxTransitions`). */
  maxTransitions?: number;
}

export interface RepairHooks {
  /** Checked before each batch. */
  cancelled?(): boolean;
  /** Progress in entities, with a line for the user. */
  progress?(done: number, total: number, message: string): void;
}

export interface AllSafeHooks extends RepairHooks {
  /** Only findings of these rules (all rules when omitted). */
  rules?: readonly RuleId[];
  /** After each finding's repair, with its outcome (the CLI prints it). */
  repaired?(finding: Finding, option: RepairOption, outcome: RepairOutcome): void;
}

export interface PlannedRepair {
  finding: Finding;
  option: RepairOption;
}

/** A refusal the caller turns into its own error (an LSP error, exit code 2). */
export class WorkspaceError extends Error {}

/** The first connection to a cluster failed; `reason` says why, in words. */
export class ConnectError extends WorkspaceError {
  constructor(
    cluster: string,
    readonly reason: string,
  ) {
    super(`cannot connect to ${cluster}: ${reason}`);
  }
}

export class ClusterWorkspace {
  private readonly clusters = new Map<string, ClusterEntry>();
  private readonly listeners: WorkspaceListener[] = [];
  private rules: RuleSettings;
  /** Where every repair is journalled (none: repairs are not journalled, and undo is not offered). */
  private repairJournal: RepairJournal | undefined;
  private maxTransitions: number;

  constructor(private readonly options: WorkspaceOptions) {
    this.rules = options.rules ?? {};
    this.maxTransitions = options.maxTransitions ?? CONFIG_DEFAULTS['timeline.maxTransitions'];
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
    const c = this.get(name);
    if (!c) throw new WorkspaceError(`no cluster named ${name} is connected`);
    return c;
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
      statusPollMs: this.options.statusPollMs,
    });
    const entry: ClusterEntry = {
      name: params.name,
      session,
      checker: new ClusterChecker(params.name, this.rules),
      timer: null,
      checking: null,
      lastCheckMs: 0,
      repairing: 0,
      pinned: new Map(),
      statusDirty: new Set(),
      protection: params.protection ?? 'none',
      timeline: new Timeline(this.maxTransitions),
    };
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
        this.emitSyncProgress(entry, progress, outcome);
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
    const problems = Object.fromEntries(SUBSYSTEMS.map((s) => [s, c.checker.findings(s).length])) as Record<Subsystem, number>;
    const all = c.checker.findings();
    return {
      name: c.session.name,
      url: c.session.url,
      state: c.session.state,
      error: c.session.error,
      status: c.session.model?.status ?? null,
      problems,
      errors: all.filter((f) => f.severity === 'error').length,
      warnings: all.filter((f) => f.severity === 'warning').length,
      protection: c.protection,
      ...(c.session.syncProgress ? { sync: c.session.syncProgress } : {}),
      ...(c.checker.provisionalCount ? { provisional: c.checker.provisionalCount } : {}),
    };
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
    this.options.log(`[${c.name}] from the counts: ${plural(c.checker.provisionalCount, 'provisional finding')} (${Date.now() - started} ms)`);
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
    for (const c of targets) for (const f of c.checker.findings(filter.subsystem)) out.push(summarise(c.name, f));
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
    return f ? summarise(c.name, f) : null;
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
    return queryTimeline(c.name, c.session.model, { transitions: timeline.toArray(), capacity: timeline.capacity, dropped: timeline.dropped }, query);
  }

  // --------------------------------------------------------------- preview --

  /**
   * What the repair of this finding would do, from the plan a repair will send (the pinned one, else
   * the current finding's, pinned now), applied to a copy of the synced model. Nothing is sent, so a
   * read-only cluster previews too. Null when the cluster has not synced or the finding is gone.
   */
  async preview(args: { cluster: string; findingId: string; repairId: string }): Promise<RepairPreview | null> {
    const c = this.get(args.cluster);
    if (!c?.session.model) return null;
    await this.flushChecks(c);
    const finding = this.pin(c, args.findingId);
    const model = c.session.model;
    if (!finding || !model) return null;
    const option = finding.repairs.find((r) => r.id === args.repairId);
    if (!option) throw new WorkspaceError(`finding ${args.findingId} has no repair ${args.repairId}`);
    return previewRepair(model, option, { severities: this.rules, before: c.checker.findings() });
  }

  // --------------------------------------------------------------- repairs --

  /** One repair of one finding, from the plan the user saw; then waits until the model shows its effect. */
  async applyRepair(args: { cluster: string; findingId: string; repairId: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    if (!args.cluster) return this.refusal(OFFLINE_REPAIR_REASON);
    const c = this.clusters.get(clusterKey(args.cluster));
    if (!c) return this.refusal(`Refused: no cluster named ${args.cluster} is connected`);
    const guarded = guard(c);
    if (guarded) return this.refusal(guarded);
    await this.flushChecks(c);
    const current = c.checker.finding(args.findingId);
    if (!current) return this.refusal(`Refused: finding ${args.findingId} no longer exists (it may have been fixed meanwhile)`);
    const pinned = c.pinned.get(args.findingId) ?? { finding: current, incarnation: c.checker.incarnation };
    const option = pinned.finding.repairs.find((r) => r.id === args.repairId);
    if (!option) return this.refusal(`Refused: finding ${args.findingId} has no repair ${args.repairId}`);
    if (!pinned.incarnation) return this.refusal(noIncarnation(c.name));
    c.pinned.delete(args.findingId);
    const outcome = await this.runRepair(c, pinned.finding, option, pinned.incarnation, hooks);
    return {
      ok: outcome.refused === 0 && !outcome.cancelled && !outcome.incarnationChanged && !outcome.stopped,
      applied: outcome.applied,
      refused: outcome.refused,
      summary: outcome.summary,
      details: outcome.details,
      resolved: !c.checker.finding(args.findingId),
    };
  }

  /**
   * Sends one plan, then catches up. If the cluster restarted meanwhile, nothing of the plan
   * reaches the new cluster: once it has resynced and been checked again, a safe repair is
   * planned afresh and applied (once); one that may lose data is left for the user to confirm.
   */
  private async runRepair(c: ClusterEntry, finding: Finding, option: RepairOption, incarnation: string, hooks: RepairHooks): Promise<RepairOutcome> {
    c.repairing++;
    try {
      return await this.runRepairHoldingChecks(c, finding, option, incarnation, hooks);
    } finally {
      c.repairing--;
      // Whatever arrived after the catch-up (another writer) is checked as usual.
      if (c.repairing === 0 && c.checker.hasDirty) this.scheduleCheck(c, CHECK_DEBOUNCE_MS);
    }
  }

  private async runRepairHoldingChecks(
    c: ClusterEntry,
    finding: Finding,
    option: RepairOption,
    incarnation: string,
    hooks: RepairHooks,
  ): Promise<RepairOutcome> {
    const outcome = await this.execute(c, finding, { option, incarnation }, hooks);
    if (!outcome.incarnationChanged) {
      await this.catchUp(c, outcome.seq);
      return outcome;
    }
    this.options.log(`[${c.name}] the cluster restarted during ${finding.id} → ${option.id}; re-planning once it has resynced`);
    const live = await c.session.waitFor(() => c.session.state === 'live' && c.session.incarnation !== incarnation, this.options.catchUpMs ?? DEFAULT_CATCH_UP_MS);
    await this.flushChecks(c);
    const fresh = live ? c.checker.finding(finding.id)?.repairs.find((r) => r.id === option.id) : undefined;
    const before = `${outcome.summary}.`;
    if (!fresh) {
      const why = !live ? 'it has not come back yet' : 'the finding is gone on the restarted cluster';
      return { ...outcome, summary: `${before} Not re-planned: ${why}.` };
    }
    if (fresh.safety !== 'safe' || hooks.cancelled?.()) {
      return { ...outcome, summary: `${before} Re-check the finding on the restarted cluster and repair again.` };
    }
    this.options.log(`[${c.name}] re-planned ${finding.id} → ${option.id} on incarnation ${c.checker.incarnation}`);
    const again = await this.execute(c, finding, { option: fresh, incarnation: c.checker.incarnation! }, hooks);
    if (!again.incarnationChanged) await this.catchUp(c, again.seq);
    return {
      ...again,
      applied: outcome.applied + again.applied,
      refused: outcome.refused + again.refused,
      unchanged: outcome.unchanged + again.unchanged,
      details: [...outcome.details, ...again.details],
      summary: `${before} Re-planned on the restarted cluster: ${again.summary}`,
    };
  }

  /** `executeRepair`, journalled when the workspace has a journal (the only place repairs are sent from). */
  private async execute(
    c: ClusterEntry,
    finding: { id: string; rule?: RuleId; undoOf?: string },
    planned: PlannedOption,
    hooks: RepairHooks,
  ): Promise<RepairOutcome> {
    const recorder = this.repairJournal?.recorder(c.session, {
      findingId: finding.id,
      rule: finding.rule,
      option: planned.option,
      incarnation: planned.incarnation,
      source: this.options.journalSource ?? 'editor',
      undoOf: finding.undoOf,
    });
    const outcome = await executeRepair(c.session, finding.id, planned, { log: this.options.log, ...hooks, ...(recorder ? { batches: recorder } : {}) });
    await recorder?.end(outcome.summary, outcome.cancelled).catch((e) => this.options.log(`[${c.name}] ${errorText(e)}`));
    return outcome;
  }

  /**
   * Undoes a journalled repair (`id`, or the newest one that can be undone): its inverse plan, from
   * the before-images, sent like any repair (and journalled), each operation conditional on the entity
   * being as the repair left it (or still absent); what moved on since is refused and listed.
   */
  async undoRepair(args: { id?: string; cluster?: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    if (!this.repairJournal) return this.refusal('Refused: there is no repair journal, so there is nothing to undo from');
    const plan = buildUndo((await readJournal(this.repairJournal.path)).lines, args.id, args.cluster);
    const c = this.clusters.get(clusterKey(plan.cluster));
    if (!c) return this.refusal(`Refused: the repair was made on ${plan.cluster}, which is not connected`);
    const guarded = guard(c);
    if (guarded) return this.refusal(guarded);
    await this.flushChecks(c);
    const incarnation = c.checker.incarnation;
    if (incarnation !== plan.incarnation) {
      return this.refusal(
        `Refused: ${c.name} restarted or was reset since the repair (incarnation ${plan.incarnation}, now ${incarnation ?? 'unknown'}); its versions may repeat, so nothing was sent`,
      );
    }
    if (!plan.option.operations.length) {
      return { ...this.refusal(`Nothing to undo for ${plan.entry.title}`), details: plan.skipped.slice(0, 50) };
    }
    c.repairing++;
    let outcome: RepairOutcome;
    try {
      outcome = await this.execute(c, { id: plan.entry.findingId, rule: plan.entry.rule, undoOf: plan.entry.id }, { option: plan.option, incarnation }, hooks);
      if (!outcome.incarnationChanged) await this.catchUp(c, outcome.seq);
    } finally {
      c.repairing--;
      if (c.repairing === 0 && c.checker.hasDirty) this.scheduleCheck(c, CHECK_DEBOUNCE_MS);
    }
    return {
      ok: outcome.refused === 0 && !outcome.cancelled && !outcome.incarnationChanged && !outcome.stopped && plan.skipped.length === 0,
      applied: outcome.applied,
      refused: outcome.refused,
      summary: outcome.summary + (plan.skipped.length ? `; left alone ${plan.skipped.length} (see details)` : ''),
      details: [...outcome.details, ...plan.skipped].slice(0, 50),
      resolved: false,
    };
  }

  /** What `applyAllSafe` would apply first: per finding (of `rules`), its first safe repair. */
  planAllSafe(cluster: WorkspaceCluster, rules?: readonly RuleId[], tried: ReadonlySet<string> = new Set()): PlannedRepair[] {
    const plans: PlannedRepair[] = [];
    for (const finding of cluster.checker.findings()) {
      if (rules && !rules.includes(finding.rule)) continue;
      const status = cluster.session.model?.status;
      const option = finding.repairs.find(
        (r) => r.safety === 'safe' && !tried.has(`${finding.id}#${r.id}`) && !(status && repairRefusal(status, r.operations)),
      );
      if (option) plans.push({ finding, option });
    }
    return plans;
  }

  /**
   * `planAllSafe`, counted for a confirmation (`clusterDebugger/planAllSafe`): the first round
   * `applyAllSafe` would send now, or why it would send nothing. Checks are flushed first, as
   * `applyAllSafe` does; nothing is pinned or sent.
   */
  async summarizeAllSafe(name: string): Promise<PlanAllSafeResult> {
    const c = this.entry(name);
    const none = { cluster: c.name, repairs: 0, targets: 0, notUndoable: 0, undoNotes: [], refusedByCluster: 0 };
    const guarded = guard(c);
    if (guarded) return { ...none, refusal: guarded };
    await this.flushChecks(c);
    if (!c.checker.incarnation) return { ...none, refusal: noIncarnation(c.name) };
    const plans = this.planAllSafe(c);
    const planned = new Set(plans.map((p) => p.finding.id));
    const notUndoable = plans.filter((p) => !p.option.undoable);
    return {
      ...none,
      refusal: null,
      repairs: plans.length,
      targets: plans.reduce((n, p) => n + p.option.targetCount, 0),
      notUndoable: notUndoable.length,
      undoNotes: [...new Set(notUndoable.map((p) => p.option.undoNote).filter((n): n is string => !!n))].slice(0, 5),
      refusedByCluster: c.checker.findings().filter((f) => !planned.has(f.id) && f.repairs.some((r) => r.safety === 'safe')).length,
    };
  }

  /**
   * Every safe repair of every current finding (of `hooks.rules`), each
   * caught up and re-checked before the next; then, for the findings that
   * remain, their next safe repair, for at most `MAX_SAFE_ROUNDS` rounds.
   * Repairs that may lose data are never applied here.
   */
  async applyAllSafe(name: string, hooks: AllSafeHooks = {}): Promise<ApplyRepairResult> {
    const c = this.clusters.get(clusterKey(name));
    if (!c) return this.refusal(`Refused: no cluster named ${name} is connected`);
    const guarded = guard(c);
    if (guarded) return this.refusal(guarded);
    await this.flushChecks(c);
    if (!c.checker.incarnation) return this.refusal(noIncarnation(c.name));
    const tried = new Set<string>();
    let repairs = 0;
    let applied = 0;
    let refused = 0;
    let stopped = false;
    const summaries: string[] = [];
    const details: string[] = [];
    /** Applied per incarnation the repairs were planned on: after a restart, the same records may be repaired again. */
    const perRun = new Map<string, number>();
    for (let round = 0; round < MAX_SAFE_ROUNDS && !stopped; round++) {
      const plans = this.planAllSafe(c, hooks.rules, tried);
      if (!plans.length) break;
      // The round's plans were all computed on this incarnation; they carry it even if a restart is noticed mid-round.
      const plannedOn = c.checker.incarnation!;
      const total = plans.reduce((n, p) => n + p.option.targetCount, 0);
      let done = 0;
      for (const { finding, option } of plans) {
        if ((stopped = hooks.cancelled?.() ?? false)) break;
        tried.add(`${finding.id}#${option.id}`);
        repairs++;
        hooks.progress?.(done, total, `${finding.id}: ${option.title}`);
        // Progress in entities of the whole round, batch by batch (not "1 of 1 findings").
        const before = done;
        const progress = (d: number) => hooks.progress?.(before + d, total, `${formatCount(before + d)} of ${formatCount(total)}: ${option.title}`);
        const outcome = await this.runRepair(c, finding, option, plannedOn, { cancelled: hooks.cancelled, progress });
        stopped ||= outcome.cancelled || outcome.stopped !== undefined;
        applied += outcome.applied;
        perRun.set(plannedOn, (perRun.get(plannedOn) ?? 0) + outcome.applied);
        refused += outcome.refused;
        done += option.targetCount;
        summaries.push(outcome.summary);
        details.push(...outcome.details);
        hooks.repaired?.(finding, option, outcome);
        // Planned on a cluster that has since restarted: the rest of this round's plans are void; the next round re-plans.
        if (outcome.incarnationChanged) break;
      }
    }
    const remaining = hooks.rules ? c.checker.findings().filter((f) => hooks.rules!.includes(f.rule)).length : c.checker.findings().length;
    // The cluster restarted part-way: each run is said on its own, the sum may count a record twice (undone by the restart, repaired again).
    const runs = [...perRun.values()].filter((n) => n > 0);
    const appliedText =
      runs.length > 1
        ? `applied ${runs.map((n, i) => `${formatCount(n)} in run ${i + 1}`).join(', ')} (the cluster restarted in between; a record may be counted in both)`
        : `applied ${applied}`;
    return {
      ok: refused === 0 && !stopped,
      applied,
      refused,
      summary: repairs
        ? `${plural(repairs, 'safe repair')}${stopped ? ', cancelled part-way' : ''}: ${appliedText}, refused ${refused}; ${plural(remaining, 'finding')} remain${remaining === 1 ? 's' : ''}`
        : 'No safe repair to apply',
      details: [...summaries, ...details].slice(0, 50),
      resolved: remaining === 0,
    };
  }

  /** Waits until the model holds the repair's own events (else resyncs), then re-checks. */
  private async catchUp(c: ClusterEntry, seq: number): Promise<void> {
    if (!(await c.session.waitForSeq(seq, this.options.catchUpMs ?? DEFAULT_CATCH_UP_MS))) {
      this.options.log(`[${c.name}] events up to ${seq} did not arrive; resyncing`);
      await c.session.resync().catch((e) => this.options.log(`[${c.name}] resync failed: ${errorText(e)}`));
    }
    await this.flushChecks(c);
  }

  private refusal(summary: string): ApplyRepairResult {
    this.options.log(`repair refused: ${summary}`);
    return { ok: false, applied: 0, refused: 0, summary, details: [], resolved: false };
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

  private emitSyncProgress(c: ClusterEntry, progress: SyncProgress | null, outcome: SyncOutcome | undefined): void {
    if (this.clusters.get(clusterKey(c.name)) !== c) return;
    for (const l of this.listeners) {
      try {
        l.syncProgress?.(c, progress, outcome);
      } catch (e) {
        this.options.log(`listener failed: ${errorDetail(e)}`);
      }
    }
  }

  private emitChanged(c: ClusterEntry, subsystems: readonly Subsystem[]): void {
    if (this.clusters.get(clusterKey(c.name)) !== c) return;
    for (const l of this.listeners) {
      try {
        l.changed(c, subsystems);
      } catch (e) {
        this.options.log(`listener failed: ${errorDetail(e)}`);
      }
    }
  }
}

/** The cluster says it refuses every repair (`ClusterStatus.readOnly`: a gateway without `"repairs": true`). */
export function isReadOnly(c: WorkspaceCluster): boolean {
  return c.session.model?.status.readOnly === true;
}

/**
 * Why no repair of this cluster may be sent, or undefined: the cluster refuses every repair, or its
 * protection level is `read-only` (code actions show it as their disabled reason).
 */
export function readOnlyReason(c: WorkspaceCluster): string | undefined {
  return protectionReadOnlyReason({ name: c.name, protection: c.protection, status: c.session.model?.status });
}

/**
 * The one check before anything of a repair is sent, whoever asks for it (a quick fix, any LSP
 * client's executeCommand, the CLI): the cluster is live and not read-only. A refusal, or undefined.
 */
function guard(c: ClusterEntry): string | undefined {
  if (c.session.state !== 'live') return `Refused: ${c.name} is ${c.session.state}; nothing is repaired from stale state`;
  const readOnly = readOnlyReason(c);
  return readOnly ? `Refused: ${readOnly}; nothing was sent` : undefined;
}

function noIncarnation(cluster: string): string {
  return `Refused: ${cluster} does not say which incarnation of the cluster it is, so a repair could reach a restarted cluster; nothing was sent`;
}

function summarise(cluster: string, f: Finding): FindingSummary {
  return {
    ...f,
    cluster,
    repairs: f.repairs.map((r) => ({
      id: r.id,
      title: r.title,
      safety: r.safety,
      targetCount: r.targetCount,
      description: r.description,
      undoable: r.undoable,
      ...(r.undoNote ? { undoNote: r.undoNote } : {}),
    })),
  };
}
