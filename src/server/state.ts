/**
 * The one state every handler of the language server is given (rust-analyzer's
 * `GlobalStateSnapshot`): the connection, what the client can do, the snapshot
 * files open in the editor, and a facade over the engine's `ClusterWorkspace`.
 *
 * Handlers read the workspace, its clusters' models and the analysis only
 * through these methods: this file is the only one of `src/server` that
 * imports `src/engine` (beside the types it re-exports), so a change there
 * shows here and nowhere else in the server.
 */
import { LSPErrorCodes, ResponseError, TextDocuments, type Connection } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  errorDetail,
  errorText,
  parseClusterDocUri,
  type ClusterInfo,
  type ClusterStatus,
  type ClusterStuckWork,
  type Finding,
  type LspResult,
  type ConnectionState,
  type Subsystem,
  type SyncProgress,
  type TreeNode,
} from '../protocol';
import { diffClusters, diffSummary, renderDiffText, renderPreviewText, NO_DOCUMENTS, renderSnapshot, type DocumentsOf } from '../analysis';
import type { RuleSettings } from '../engine/checker';
import { connectClusterClient, type LinkFactory } from '../engine/link';
import { analyseSnapshot, writeSnapshotFile, type SaveSnapshotOptions, type SnapshotAnalysis } from '../engine/offline';
import { readJournal, RepairJournal, repairHistory } from '../engine/journal';
import { processRunbooksBase } from '../engine/runbooks';
import { mergeSharedHistory } from '../engine/shared-journal';
import { stuckWorkOf } from '../engine/stuck';
import { treeChildren } from '../engine/tree';
import { readOnlyReason, type WorkspaceCluster } from '../engine/cluster';
import { OFFLINE_REPAIR_REASON, type RepairHooks } from '../engine/repair-runner';
import { ClusterWorkspace, type WorkspaceListener } from '../engine/workspace';
import { clusterKey } from '../protocol/config';
import type { ClusterClock } from '../protocol/format';

export { OFFLINE_REPAIR_REASON };
export { WorkspaceError } from '../engine/cluster';
export { SnapshotCancelledError } from '../engine/offline';
export type { RepairHooks, RuleSettings, WorkspaceCluster, WorkspaceListener };

export interface ServerOptions {
  connect?: LinkFactory;
}

/** A snapshot file open in the editor, analysed offline (`offline.ts`). */
export interface OfflineEntry {
  findings: Finding[];
  documents?: DocumentsOf;
  clock?: ClusterClock;
  timer: NodeJS.Timeout | null;
}

/** What the client said it can do (`initialize`). */
export interface ClientCapabilities {
  canCreateProgress: boolean;
  canPullConfiguration: boolean;
  /** Whether the client shows disabled code actions (VS Code does); other clients get none of them. */
  canShowDisabledActions: boolean;
}

/** One subsystem document of a cluster, as its diagnostics and hovers see it. */
export interface ClusterDocument {
  findings: readonly Finding[];
  /** Where each finding and fact is: none until the first sync ends (provisional findings sit on line 0). */
  documents: DocumentsOf;
  /** The clock the facts' times are on: the model's status once synced. */
  clock: ClusterClock | undefined;
  /** The connection is neither live nor syncing: what is shown may be out of date. */
  stale: boolean;
  sync: SyncProgress | null | undefined;
}

/** Where a code action's findings come from, and why its repairs cannot run now (if they cannot). */
export interface RepairSource {
  /** The cluster a repair goes to; '' for a snapshot file. */
  cluster: string;
  /** The finding as a repair from it will send it (on a cluster: pinned now, as shown). */
  finding(id: string): Finding | undefined;
  /** Why every repair from here is disabled, or undefined. */
  disabled(): string | undefined;
  /** The cluster's status, which may refuse a repair's operations (`repairRefusal`). */
  status(): ClusterStatus | undefined;
}

/** A synced cluster's model and timeline, as a snapshot file holds them. */
export interface ClusterSnapshot {
  name: string;
  text(): string;
  write(path: string, options: Omit<SaveSnapshotOptions, 'extras'>): Promise<{ bytes: number; entities: number }>;
}

type Workspace = ClusterWorkspace;

export class ServerState {
  readonly documents = new TextDocuments(TextDocument);
  /** Snapshot files open in the editor, by URI. */
  readonly offline = new Map<string, OfflineEntry>();
  readonly client: ClientCapabilities = { canCreateProgress: false, canPullConfiguration: false, canShowDisabledActions: false };
  private readonly workspace: Workspace;
  /** The runbooks' base URL for links (the hover's "Runbook" line), or undefined when there is none. */
  readonly runbooksBase = processRunbooksBase();

  constructor(
    readonly connection: Connection,
    options: ServerOptions = {},
  ) {
    this.workspace = new ClusterWorkspace({ connect: options.connect ?? connectClusterClient, log: (message) => this.log(message) });
  }

  // ------------------------------------------------------------------- log --

  log(message: string): void {
    this.connection.console.log(message);
  }

  warn(message: string): void {
    this.connection.console.warn(message);
  }

  logError(what: string, e: unknown): void {
    this.connection.console.error(`${what}: ${errorDetail(e)}`);
  }

  // -------------------------------------------------------------- settings --

  addListener(listener: WorkspaceListener): void {
    this.workspace.addListener(listener);
  }

  get ruleSettings(): RuleSettings {
    return this.workspace.ruleSettings;
  }

  setRules(rules: RuleSettings): void {
    this.workspace.setRules(rules);
  }

  setMaxTransitions(max: number): void {
    this.workspace.setMaxTransitions(max);
  }

  dispose(): void {
    this.workspace.dispose();
  }

  // -------------------------------------------------------------- clusters --

  connect(params: Parameters<Workspace['connect']>[0]): Promise<ClusterInfo> {
    return this.workspace.connect(params);
  }

  disconnect(name: string): void {
    this.workspace.disconnect(name);
  }

  refresh(cluster?: string): Promise<ClusterInfo[]> {
    return this.workspace.refresh(cluster);
  }

  clusters(): ClusterInfo[] {
    return this.workspace.infos();
  }

  setProtection(...args: Parameters<Workspace['setProtection']>): ClusterInfo {
    return this.workspace.setProtection(...args);
  }

  /** The connection state of a cluster the workspace told us of. */
  sessionState(c: WorkspaceCluster): ConnectionState {
    return c.session.state;
  }

  treeChildren(p: { subsystem: Subsystem; parentId: string | null; cursor?: string | null; limit: number }): TreeNode[] {
    return treeChildren(this.workspace.list(), p.subsystem, p.parentId, p.cursor, p.limit);
  }

  /** Every cluster's stuck work, or the one named (which must be connected). */
  stuckWork(cluster?: string): ClusterStuckWork[] {
    if (cluster !== undefined) this.workspace.require(cluster);
    return stuckWorkOf(this.workspace.list(), cluster);
  }

  findings(...args: Parameters<Workspace['findings']>): ReturnType<Workspace['findings']> {
    return this.workspace.findings(...args);
  }

  topology(...args: Parameters<Workspace['topology']>): ReturnType<Workspace['topology']> {
    return this.workspace.topology(...args);
  }

  plan(...args: Parameters<Workspace['plan']>): ReturnType<Workspace['plan']> {
    return this.workspace.plan(...args);
  }

  planAllSafe(cluster: string): ReturnType<Workspace['summarizeAllSafe']> {
    return this.workspace.summarizeAllSafe(cluster);
  }

  timeline(...args: Parameters<Workspace['timeline']>): ReturnType<Workspace['timeline']> {
    return this.workspace.timeline(...args);
  }

  findEntity(...args: Parameters<Workspace['findEntity']>): ReturnType<Workspace['findEntity']> {
    return this.workspace.findEntity(...args);
  }

  /** What a repair would change, and that as text (or why there is nothing to preview). */
  async preview(p: { cluster: string; findingId: string; repairId: string }): Promise<LspResult<'preview'>> {
    const preview = await this.workspace.preview(p);
    const text = preview
      ? renderPreviewText(preview, [`Cluster ${p.cluster} · finding ${p.findingId} · repair ${p.repairId}`])
      : `Finding ${p.findingId} is no longer current on ${p.cluster} (or the cluster has not synced): nothing to preview.\n`;
    return { preview, text };
  }

  // --------------------------------------------------------------- repairs --

  applyRepair(args: { cluster: string; findingId: string; repairId: string }, hooks: RepairHooks) {
    return this.workspace.applyRepair(args, hooks);
  }

  applyAllSafe(cluster: string, hooks: RepairHooks) {
    return this.workspace.applyAllSafe(cluster, hooks);
  }

  undoRepair(args: { id?: string; cluster?: string }, hooks: RepairHooks) {
    return this.workspace.undoRepair(args, hooks);
  }

  /** Journals every repair to `path` (absolute), or none (null). */
  setJournal(path: string | null): void {
    this.workspace.setJournal(path === null ? undefined : new RepairJournal(path));
    this.log(path === null ? 'repairs are not journalled' : `repair journal: ${path}`);
  }

  /** The editor's journal, merged with the own journals of the connected gateways that keep one (they say who repaired). */
  async repairHistory(): Promise<LspResult<'repairHistory'>> {
    const journal = this.workspace.journal;
    const read = journal
      ? await readJournal(journal.path).catch((e) => {
          throw new ResponseError(LSPErrorCodes.RequestFailed, errorText(e));
        })
      : { lines: [], problems: [] };
    // A connected cluster's incarnation now: a repair of an earlier run is marked before anyone asks to undo it.
    const incarnations = new Map<string, string>();
    for (const c of this.workspace.list()) {
      const incarnation = c.session.model?.status.incarnation;
      if (incarnation) incarnations.set(clusterKey(c.name), incarnation);
    }
    const merged = await mergeSharedHistory(repairHistory(read.lines, incarnations), this.workspace.list(), incarnations);
    return { path: journal?.path ?? null, entries: merged.entries, problems: [...read.problems, ...merged.problems] };
  }

  // ------------------------------------------------------------- documents --

  /** The text of a cluster's subsystem document (a line that says why when it has not synced). */
  documentText(cluster: string, subsystem: Subsystem): string {
    const c = this.workspace.require(cluster);
    const model = c.session.model;
    if (!model) return `# ${c.name}: ${c.session.error ?? `${c.session.state}…`}\n`;
    return c.checker.document(model, subsystem).text;
  }

  /** What a cluster's subsystem document shows: its findings, where they point, and how current they are. */
  clusterDocument(c: WorkspaceCluster, subsystem: Subsystem): ClusterDocument {
    const model = c.session.model;
    return {
      findings: c.checker.findings(subsystem),
      documents: model ? c.checker.documents(model) : NO_DOCUMENTS,
      clock: model?.status,
      stale: c.session.state !== 'live' && c.session.state !== 'syncing',
      sync: c.session.syncProgress,
    };
  }

  /** Whether a cluster's findings are provisional (from counts, before its first sync ends). */
  hasProvisionalFindings(c: WorkspaceCluster): boolean {
    return c.checker.provisionalCount > 0;
  }

  /** The findings of a document (a cluster's, or a snapshot file's) and where they point; none when it is neither. */
  documentFindings(uri: string): { findings: readonly Finding[]; documents?: DocumentsOf; clock?: ClusterClock } {
    const target = parseClusterDocUri(uri);
    if (target) {
      const c = this.workspace.get(target.cluster);
      if (!c) return { findings: [] };
      const doc = this.clusterDocument(c, target.subsystem);
      return { findings: doc.findings, documents: doc.documents, clock: doc.clock };
    }
    const entry = this.offline.get(uri);
    return { findings: entry?.findings ?? [], documents: entry?.documents, clock: entry?.clock };
  }

  /** Where the quick fixes of a document come from: a connected cluster, or a snapshot file (never repaired). */
  repairSource(uri: string): RepairSource | undefined {
    const target = parseClusterDocUri(uri);
    if (!target) {
      const fileFindings = this.offline.get(uri)?.findings;
      if (!fileFindings) return undefined;
      return {
        cluster: '',
        finding: (id) => fileFindings.find((f) => f.id === id),
        disabled: () => OFFLINE_REPAIR_REASON,
        status: () => undefined,
      };
    }
    const cluster = this.workspace.get(target.cluster);
    if (!cluster) return undefined;
    return {
      cluster: cluster.name,
      // What the user is shown now is what a repair from it will send.
      finding: (id) => this.workspace.pinCurrent(cluster, id),
      disabled: () => {
        if (cluster.session.state !== 'live') return `The cluster is ${cluster.session.state}; repairs wait for a live connection`;
        if (readOnlyReason(cluster)) return `Read-only: ${readOnlyReason(cluster)}`;
        return undefined;
      },
      status: () => cluster.session.model?.status,
    };
  }

  // ------------------------------------------------------------- snapshots --

  /** A connected cluster's snapshot, or undefined until its first sync ends. */
  snapshotOf(cluster: string): ClusterSnapshot | undefined {
    const c = this.workspace.require(cluster);
    const model = c.session.model;
    if (!model) return undefined;
    // A cluster's timeline as a snapshot file carries it.
    const timeline = () => ({ transitions: c.timeline.toArray(), dropped: c.timeline.dropped });
    return {
      name: c.name,
      text: () => renderSnapshot(model, { timeline: timeline() }),
      write: (path, options) => writeSnapshotFile(model, path, { extras: { timeline: timeline() }, ...options }),
    };
  }

  /** A snapshot file's text analysed with the current rule settings. */
  analyseSnapshot(text: string): SnapshotAnalysis {
    return analyseSnapshot(text, this.ruleSettings);
  }

  /** Two snapshots' differences, in entities and in findings (`clusterDebugger/compare`). */
  compare(a: { label: string; text: string }, b: { label: string; text: string }, limit: number | undefined): LspResult<'compare'> {
    const side = (s: { label: string; text: string }) => {
      const analysis = this.analyseSnapshot(s.text);
      if (!analysis.model)
        throw new ResponseError(
          LSPErrorCodes.RequestFailed,
          `${s.label} is not a cluster snapshot: ${analysis.errors[0]?.message ?? 'nothing could be parsed'}`,
        );
      return { model: analysis.model, findings: analysis.findings };
    };
    const left = side(a);
    const right = side(b);
    const diff = diffClusters(left, right, { limit });
    return {
      identical: diff.identical,
      summary: diffSummary(diff),
      report: renderDiffText(diff, left.model.status, right.model.status, { labels: [a.label, b.label] }),
      totals: diff.totals,
      findings: {
        appeared: diff.findings.appeared.map((f) => f.id),
        resolved: diff.findings.resolved.map((f) => f.id),
        changed: diff.findings.changed.map((c) => ({ id: c.id, from: c.from, to: c.to })),
      },
    };
  }
}
