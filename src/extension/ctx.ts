/**
 * The extension's one context object (rust-analyzer's `Ctx`): built in
 * `activate`, it owns the language client, the views, the status item and the
 * bundled simulator. Two lifetimes of disposables: extension-wide ones on
 * `context.subscriptions`, per-server ones in `serverDisposables`, dropped
 * whenever the client stops.
 */
import {
  Disposable,
  Event,
  EventEmitter,
  ExtensionContext,
  LogOutputChannel,
  TreeView,
  commands,
  languages,
  window,
  workspace,
} from 'vscode';
import { LanguageClient, State, StateChangeEvent } from 'vscode-languageclient/node';
import { SUBSYSTEMS, Subsystem, SUBSYSTEM_TITLES } from '../protocol/collections';
import { BUNDLED_CLUSTER, clusterKey, sameCluster } from '../protocol/config';
import { errorText, plural } from '../protocol/format';
import { ClusterInfo, DidChangeParams, LspMethods, SyncProgressParams } from '../protocol/lsp';
import { CLUSTER_SCHEME } from '../protocol/uri';
import { ServerApi } from './languageServer/serverApi';
import { PREVIEW_SCHEME, PreviewDocumentProvider, TextDocumentsProvider, TIMELINE_SCHEME } from './views/previewDocuments';
import { ChangeBatcher, PendingChanges } from './languageServer/batcher';
import { createClient } from './languageServer/client';
import { ClusterDocumentProvider } from './views/documents';
import { EventLoopMonitor } from './eventLoop';
import type { BundledGateway } from './processes/gateway';
import { BundledSimulator } from './processes/simulator';
import { ServerState, StatusView } from './views/status';
import { SyncProgressNotifications } from './views/syncProgress';
import { ClustersTreeProvider } from './views/trees/clustersProvider';
import { Element } from './views/trees/elements';
import { ClusterTreeProvider, SourceState } from './views/trees/provider';
import { RepairHistoryProvider } from './views/trees/historyProvider';
import { journalPath } from './config';
import { StuckTreeProvider } from './views/trees/stuckProvider';

export type Requirement = 'nothing' | 'server' | 'connection';

/**
 * What the context runs but does not own, passed in by `main.ts` (as rust-analyzer's
 * `new Ctx(context, createCommands(), …)`): the command table and the connect flows import
 * `Ctx`, so `ctx.ts` imports none of them and no import circle forms.
 */
export interface CtxFeatures {
  /**
   * vscode-languageclient's `executeCommand` middleware: runs a server command (a quick fix's
   * `applyRepair`) through the extension's flow for it (`runServerCommand` of the command table).
   */
  runServerCommand(ctx: Ctx, command: string, args: unknown[], next: (command: string, args: unknown[]) => unknown): unknown;
  /**
   * After a restart of the language server, connects again what this window had and the server
   * does not know (`known`: names by `clusterKey`): the simulator, its gateways, the settings' clusters.
   */
  reconnect(ctx: Ctx, known: ReadonlySet<string>): Promise<void>;
}

export class Ctx implements Disposable {
  readonly log: LogOutputChannel;
  readonly trees: Record<Subsystem, ClusterTreeProvider>;
  readonly clustersTree: ClustersTreeProvider;
  /** The repair journal as a tree (`Cluster: Show Repair History`). */
  readonly historyTree: RepairHistoryProvider;
  readonly historyView: TreeView<unknown>;
  readonly stuckTree: StuckTreeProvider;
  readonly documents: ClusterDocumentProvider;
  readonly previews = new PreviewDocumentProvider();
  /** `Cluster: Show Timeline` documents, one per cluster or entity. */
  readonly timelines = new TextDocumentsProvider(TIMELINE_SCHEME, 'This timeline is gone: run Cluster: Show Timeline again.\n');
  /** The extension host's event-loop delay since activation (`Cluster: Show Extension Host Event-Loop Delay`). */
  readonly eventLoop = new EventLoopMonitor();
  simulator: BundledSimulator | undefined;
  /** Gateways this window started (`Cluster: Start Gateway…`), by `clusterKey` of their cluster's name. */
  readonly gateways = new Map<string, BundledGateway>();

  private client: LanguageClient | undefined;
  private serverApi: ServerApi | undefined;
  private server: ServerState = { kind: 'starting' };
  /** Set when the error handler restarts the server, so that the next Running reconnects. */
  private restarting = false;
  private serverDisposables: Disposable[] = [];
  private clusterList: ClusterInfo[] = [];
  /** The cluster list of the newest `didChange` not yet applied, and when it arrived (`listsArrived`). */
  private notifiedClusters: { list: ClusterInfo[]; arrived: number } | undefined;
  /**
   * Cluster lists received (each `didChange`'s and each `clusters` answer), counted in the order they
   * arrive, which is the order the server sent them; and the one shown. A list never replaces one that
   * arrived after it: a `didChange` applied late (batched) must not undo a newer answer (seen: a
   * protection level changed by the settings, then put back by a notification sent just before).
   */
  private listsArrived = 0;
  private listShown = 0;
  private readonly clustersChanged = new EventEmitter<readonly ClusterInfo[]>();
  /** After the cluster list, a state or a count changed, and every label (views, badges, status) shows it. */
  readonly onDidChangeClusters: Event<readonly ClusterInfo[]> = this.clustersChanged.event;
  private readonly changesApplied = new EventEmitter<void>();
  /** After a burst of server changes (entities, findings, states) was applied to the views: what reads the model again (the topology) follows. */
  readonly onDidApplyChanges: Event<void> = this.changesApplied.event;
  private readonly views = new Map<Subsystem | 'clusters' | 'stuck', TreeView<Element>>();
  private readonly status: StatusView;
  private readonly batcher: ChangeBatcher;
  /** Each cluster's full sync, as a progress notification whose Cancel disconnects it. */
  readonly syncs: SyncProgressNotifications;

  constructor(
    readonly extension: ExtensionContext,
    private readonly features: CtxFeatures,
  ) {
    const subs = extension.subscriptions;
    this.log = window.createOutputChannel('Cluster Debugger', { log: true });
    subs.push(this.log);
    this.status = new StatusView();
    subs.push(this.status, this.eventLoop);
    this.batcher = new ChangeBatcher((changes) => void this.applyChanges(changes));
    subs.push(this.batcher, this.clustersChanged, this.changesApplied);
    this.syncs = new SyncProgressNotifications(async (name) => {
      await this.requireApi().disconnect(name);
      await this.refreshClusters();
    }, this.log);
    subs.push(this.syncs);

    const treeSource = {
      state: () => this.sourceState(),
      treeChildren: (params: Parameters<ServerApi['treeChildren']>[0], token?: Parameters<ServerApi['treeChildren']>[1]) =>
        this.requireApi().treeChildren(params, token),
    };
    this.trees = Object.fromEntries(SUBSYSTEMS.map((s) => [s, new ClusterTreeProvider(s, treeSource)])) as Record<
      Subsystem,
      ClusterTreeProvider
    >;
    this.clustersTree = new ClustersTreeProvider({
      state: () => this.sourceState(),
      clusters: () => this.clusterList,
      cluster: (name) => this.clusterList.find((c) => sameCluster(c.name, name)),
      isSimulator: (name) => sameCluster(name, BUNDLED_CLUSTER) && this.simulator?.running === true,
      isGateway: (name) => this.gateways.get(clusterKey(name))?.running === true,
    });
    this.views.set(
      'clusters',
      window.createTreeView('clusterDebugger.clusters', { treeDataProvider: this.clustersTree, showCollapseAll: false }),
    );
    for (const s of SUBSYSTEMS) {
      this.views.set(s, window.createTreeView(`clusterDebugger.${s}`, { treeDataProvider: this.trees[s], showCollapseAll: true }));
      subs.push(this.trees[s]);
    }
    this.stuckTree = new StuckTreeProvider({
      state: () => this.sourceState(),
      stuckWork: (token) => this.requireApi().stuckWork(undefined, token),
    });
    this.views.set('stuck', window.createTreeView('clusterDebugger.stuck', { treeDataProvider: this.stuckTree, showCollapseAll: true }));
    subs.push(this.clustersTree, this.stuckTree, ...this.views.values());
    this.historyTree = new RepairHistoryProvider(
      async () => this.serverApi?.repairHistory() ?? this.notReadyReason('server') ?? 'not ready',
    );
    this.historyView = window.createTreeView('clusterDebugger.repairHistory', { treeDataProvider: this.historyTree }) as TreeView<unknown>;
    subs.push(this.historyTree, this.historyView);

    this.documents = new ClusterDocumentProvider(() => this.serverApi ?? this.notReadyReason('server') ?? 'not ready');
    subs.push(this.documents, workspace.registerTextDocumentContentProvider(CLUSTER_SCHEME, this.documents));
    subs.push(this.previews, workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, this.previews));
    // "Apply this repair" on a preview's first line.
    subs.push(languages.registerCodeLensProvider({ scheme: PREVIEW_SCHEME }, this.previews));
    subs.push(this.timelines, workspace.registerTextDocumentContentProvider(TIMELINE_SCHEME, this.timelines));
    this.updateUi();
  }

  get clusters(): readonly ClusterInfo[] {
    return this.clusterList;
  }

  get api(): ServerApi | undefined {
    return this.serverApi;
  }

  requireApi(): ServerApi {
    const why = this.notReadyReason('server');
    if (why || !this.serverApi) throw new Error(why ?? 'The language server is not running.');
    return this.serverApi;
  }

  /** Why a command with this requirement cannot run now, in words for the user; undefined when it can. */
  notReadyReason(requires: Requirement): string | undefined {
    if (requires === 'nothing') return undefined;
    if (this.server.kind === 'failed') return `The Cluster Debugger language server is not running: ${this.server.reason}`;
    if (this.server.kind === 'starting' || !this.serverApi) return 'The Cluster Debugger language server is still starting.';
    if (requires === 'connection' && this.clusterList.length === 0) {
      return 'No cluster is connected. Start the bundled simulator or connect to a cluster first.';
    }
    return undefined;
  }

  // ------------------------------------------------------------- server --

  async startServer(): Promise<void> {
    this.setServer({ kind: 'starting' });
    const client = createClient(this.extension, this.log, {
      onFatal: (reason) => this.setServer({ kind: 'failed', reason }),
      onRestart: () => {
        this.restarting = true;
        this.setServer({ kind: 'starting' });
      },
      // A quick fix names the server's applyRepair: in VS Code it runs the extension's repairFinding (confirmation, progress).
      executeCommand: (command, args, next) => this.features.runServerCommand(this, command, args, next),
    });
    this.client = client;
    this.serverDisposables.push(
      client.onNotification(LspMethods.didChange, (raw: unknown) => {
        const p = DidChangeParams.safeParse(raw);
        if (!p.success) {
          this.log.warn(`Ignoring a malformed ${LspMethods.didChange}: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        // The newest list wins: notifications arrive in order, and each carries every cluster's summary.
        this.notifiedClusters = { list: p.data.clusters, arrived: ++this.listsArrived };
        this.batcher.add(p.data.cluster, p.data.subsystems);
      }),
      client.onNotification(LspMethods.syncProgress, (raw: unknown) => {
        const p = SyncProgressParams.safeParse(raw);
        if (!p.success) {
          this.log.warn(`Ignoring a malformed ${LspMethods.syncProgress}: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        this.syncs.update(p.data);
      }),
      client.onDidChangeState((e: StateChangeEvent) => {
        if (e.newState === State.Running) {
          this.setServer({ kind: 'running' });
          if (this.restarting) {
            this.restarting = false;
            void this.reconnectAfterRestart();
          }
        } else if (e.newState === State.Starting) this.setServer({ kind: 'starting' });
      }),
    );
    try {
      await client.start();
    } catch (err) {
      const reason = errorText(err);
      this.log.error(`Could not start the language server: ${reason}`);
      this.setServer({ kind: 'failed', reason });
      void window.showErrorMessage(`Cluster Debugger: could not start the language server: ${reason}`, 'Show Log').then((a) => {
        if (a) this.log.show();
      });
      return;
    }
    this.serverApi = new ServerApi(client);
    await this.sendJournalPath();
    this.setServer({ kind: 'running' });
    await this.refreshClusters();
  }

  /** Tells the server where this workspace's repair journal is (`clusterDebugger.repairJournal`). */
  async sendJournalPath(): Promise<void> {
    const path = journalPath(this.extension.storageUri ?? this.extension.globalStorageUri);
    try {
      await this.serverApi?.setJournal(path);
      this.log.info(path ? `Repair journal: ${path}` : 'Repairs are not journalled (clusterDebugger.repairJournal is "off").');
    } catch (e) {
      this.log.error(`Repair journal ${path}: ${errorText(e)}`);
    }
    this.historyTree.refresh();
  }

  /** A restarted server knows no cluster: connect again what this window had (the simulator, the settings' clusters). */
  private async reconnectAfterRestart(): Promise<void> {
    this.log.warn('The language server restarted; reconnecting.');
    const known = new Set(
      (
        await this.requireApi()
          .clusters()
          .catch(() => [])
      ).map((c) => clusterKey(c.name)),
    );
    try {
      await this.features.reconnect(this, known);
    } catch (err) {
      this.log.error(`Reconnecting after the restart: ${errorText(err)}`);
    }
    await this.refreshClusters();
  }

  async stopServer(): Promise<void> {
    for (const d of this.serverDisposables.splice(0)) d.dispose();
    const client = this.client;
    this.client = undefined;
    this.serverApi = undefined;
    if (client?.isRunning()) await client.stop(2000).catch((e) => this.log.warn(`Stopping the language server: ${e}`));
  }

  private setServer(state: ServerState): void {
    this.server = state;
    if (state.kind === 'failed') this.serverApi = undefined;
    else if (state.kind === 'running' && this.client && !this.serverApi) this.serverApi = new ServerApi(this.client);
    this.updateUi();
    this.refreshAllTrees();
  }

  private sourceState(): SourceState {
    if (this.server.kind === 'failed') return { kind: 'unavailable', reason: `Language server not running: ${this.server.reason}` };
    if (this.server.kind === 'starting') return { kind: 'unavailable', reason: 'Starting the language server…' };
    return this.clusterList.length === 0 ? { kind: 'welcome' } : { kind: 'ready' };
  }

  // ----------------------------------------------------------- clusters --

  /** Re-reads the clusters (state, counts) from the server; views and status follow. */
  async refreshClusters(): Promise<void> {
    const api = this.serverApi;
    if (!api) return;
    let list: ClusterInfo[];
    try {
      list = await api.clusters();
    } catch (err) {
      this.log.error(`${LspMethods.clusters} failed: ${errorText(err)}`);
      return;
    }
    this.showList(list, ++this.listsArrived);
  }

  /** Shows `list` unless a list that arrived after it is shown already. */
  private showList(list: ClusterInfo[], arrived: number): void {
    if (arrived < this.listShown) return;
    this.listShown = arrived;
    this.setClusters(list);
  }

  /**
   * The one place the cluster list changes. Every label that shows a count derives from this
   * list, and all of them are re-rendered from it together: the status bar and the views'
   * badges and messages (`updateUi`), and the Clusters view (whose items read the latest
   * info, never a copy taken when the view last fetched them).
   */
  private setClusters(list: ClusterInfo[]): void {
    const before = this.clusterList;
    this.clusterList = list;
    this.syncs.clustersChanged(list);
    const shape = (l: readonly ClusterInfo[]) => l.map((c) => `${clusterKey(c.name)}:${c.state}`).join();
    this.updateUi();
    if (shape(before) !== shape(list)) {
      // A cluster appeared, left or changed state: every view's roots may differ.
      this.refreshAllTrees();
    } else if (JSON.stringify(before) !== JSON.stringify(list)) {
      // Only counts or details changed: the Clusters view shows them.
      this.clustersTree.refresh();
    } else return;
    this.clustersChanged.fire(list);
  }

  refreshAllTrees(): void {
    for (const s of SUBSYSTEMS) this.trees[s].refresh();
    this.clustersTree.refresh();
    this.stuckTree.refresh();
  }

  private async applyChanges(changes: PendingChanges): Promise<void> {
    const notified = this.notifiedClusters;
    this.notifiedClusters = undefined;
    if (notified) this.showList(notified.list, notified.arrived);
    else await this.refreshClusters();
    const touched = new Set<string>();
    for (const [cluster, subsystems] of changes) {
      for (const s of subsystems) touched.add(s);
      this.documents.changedCluster(cluster, subsystems);
    }
    for (const s of SUBSYSTEMS) if (touched.size === 0 || touched.has(s)) this.trees[s].refresh();
    this.clustersTree.refresh();
    // What waits spans subsystems (a chain may cross them): any change may end or start a wait.
    this.stuckTree.refresh();
    this.changesApplied.fire();
  }

  private updateUi(): void {
    this.status.update(this.server, this.clusterList);
    const connected = this.clusterList.length > 0;
    void commands.executeCommand('setContext', 'clusterDebugger.serverRunning', this.server.kind === 'running');
    void commands.executeCommand('setContext', 'clusterDebugger.connected', connected);
    void commands.executeCommand('setContext', 'clusterDebugger.simulatorRunning', this.simulator?.running === true);
    void commands.executeCommand(
      'setContext',
      'clusterDebugger.gatewayRunning',
      [...this.gateways.values()].some((g) => g.running),
    );
    const notLive = this.clusterList.filter((c) => c.state !== 'live');
    const message = notLive.length
      ? notLive
          .map(
            (c) => `${c.name} is ${c.state}${c.state === 'stale' || c.state === 'disconnected' ? ': showing its last known state' : '…'}`,
          )
          .join('; ')
      : undefined;
    for (const s of SUBSYSTEMS) {
      const view = this.views.get(s);
      if (!view) continue;
      const problems = this.clusterList.reduce((n, c) => n + (c.problems[s] ?? 0), 0);
      view.badge = problems ? { value: problems, tooltip: `${SUBSYSTEM_TITLES[s]}: ${plural(problems, 'problem')}` } : undefined;
      view.message = message;
    }
    // No badge on the Clusters view: the activity bar adds up the views' badges, and these
    // problems are already counted once in their subsystem's view.
  }

  /** Re-renders context keys and the status item after the simulator or a gateway started or stopped. */
  simulatorChanged(): void {
    this.updateUi();
    this.clustersTree.refresh();
  }

  /** The tree view of a subsystem (or the Clusters or Stuck Work view), for `reveal`. */
  view(s: Subsystem | 'clusters' | 'stuck'): TreeView<Element> | undefined {
    return this.views.get(s);
  }

  /** Reveals (selects, expands to) a node of a subsystem's view by id; false when it is not in the view. */
  async revealNode(subsystem: Subsystem, treeId: string, options: { focus: boolean }): Promise<boolean> {
    const view = this.view(subsystem);
    const element = await this.trees[subsystem].find(treeId);
    if (!view || !element) return false;
    await view.reveal(element, { select: true, focus: options.focus, expand: true });
    return true;
  }

  async dispose(): Promise<void> {
    await this.stopServer();
    await this.simulator?.stop();
    this.simulator = undefined;
    const gateways = [...this.gateways.values()];
    this.gateways.clear();
    await Promise.all(gateways.map((g) => g.stop()));
  }
}
