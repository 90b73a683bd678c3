/**
 * What `activate()` returns: the extension's public API, for other extensions
 * (and for the integration tests, which use nothing else).
 *
 *     const api = await vscode.extensions.getExtension<ClusterDebuggerApi>('cluster-debugger.cluster-debugger')!.activate();
 *     if (api.version === 1) api.onDidChangeClusters((clusters) => …);
 *
 * Read-only, except the two repair calls. Everything it returns is a copy or a
 * rendering of what the editor shows; nothing in it reaches into the
 * extension's internals.
 */
import type { CancellationToken, Event, TreeItem } from 'vscode';
import type { Subsystem } from '../../protocol/collections';
import type { ApplyRepairArgs, ApplyRepairResult, ClusterInfo, FindingSummary, TreeNode } from '../../protocol/lsp';
import type { StuckItem } from '../../protocol/stuck';

/** Bumped on any incompatible change of `ClusterDebuggerApi`. */
export const API_VERSION = 1;

/** The views of the Cluster Debugger container: `clusterDebugger.<id>`. */
export type ViewId = 'clusters' | 'stuck' | Subsystem;

/** The bundled simulator, while it runs. */
export interface BundledSimulatorInfo {
  /** The cluster name it is connected under (`BUNDLED_CLUSTER`). */
  readonly cluster: string;
  /** Its loopback WebSocket URL. */
  readonly url: string;
  /** Its process id (undefined only if the OS gave none). */
  readonly pid: number | undefined;
  readonly scenario: string;
}

/** A view's own decorations, as the user sees them above its items. */
export interface ViewState {
  /** The view's badge (its problem count), or undefined when it shows none. */
  readonly badge: { readonly value: number; readonly tooltip: string } | undefined;
  /** The message shown at the top of the view (e.g. "sim is stale: …"), or undefined. */
  readonly message: string | undefined;
}

/** One item of a view, as the view renders it. */
export interface ViewItem {
  readonly view: ViewId;
  /**
   * `cluster` or `subsystem` in the Clusters view; a server-rendered node's kind
   * (`cluster`, `group`, `entity`, `loadMore`, `message`) in a subsystem view; or
   * `message` for the extension's own empty and error states; `stuck` in the Stuck Work view.
   */
  readonly kind: string;
  /** The tree item exactly as the view shows it: label, description, icon, tooltip, command. */
  readonly treeItem: TreeItem;
  /** The cluster the item belongs to, when it belongs to one. */
  readonly cluster: string | undefined;
  /** For items of a subsystem view rendered by the language server: the node it sent. */
  readonly node: TreeNode | undefined;
  /** For items of the Stuck Work view: the stuck item, and which step of its chain this item shows (0: the item itself). */
  readonly stuck: { readonly item: StuckItem; readonly step: number } | undefined;
  /** For message items: whether they report an error or just inform. */
  readonly severity: 'info' | 'error' | undefined;
  /** The item this one is a child of; undefined at the top level. */
  readonly parent: ViewItem | undefined;
}

/** Progress of a repair, as the language server reports it. */
export interface RepairProgress {
  readonly kind: 'begin' | 'report';
  readonly message?: string;
  /** 0–100 when the server knows how far it is. */
  readonly percentage?: number;
}

export interface ClusterDebuggerApi {
  /** `API_VERSION` of the extension that answered. */
  readonly version: typeof API_VERSION;

  /** The connected (and configured) clusters as the language server last reported them: state and problem counts. */
  clusters(): readonly ClusterInfo[];

  /** Fires when a cluster comes or goes, or its state or counts change, after the views and the status bar show it. */
  readonly onDidChangeClusters: Event<readonly ClusterInfo[]>;

  /** The current findings (what the Problems panel lists), optionally of one cluster and/or subsystem. Rejects when the language server is not running. */
  findings(filter?: { cluster?: string; subsystem?: Subsystem }): Promise<readonly FindingSummary[]>;

  /** The bundled simulator, or undefined when it is not running. */
  simulator(): BundledSimulatorInfo | undefined;

  /** A view's badge and message. */
  view(view: ViewId): ViewState;

  /** The items of a view (the top level, or the children of `parent`), as it renders them; pages loaded so far only. */
  viewItems(view: ViewId, parent?: ViewItem): Promise<readonly ViewItem[]>;

  /**
   * Applies one repair of a current finding, without asking (a repair that may lose data is not
   * confirmed here: the caller is responsible). Cancelling `token` stops before the next batch;
   * batches already sent stay applied. Rejects when the language server is not running.
   */
  repair(args: ApplyRepairArgs, token?: CancellationToken, onProgress?: (p: RepairProgress) => void): Promise<ApplyRepairResult>;

  /** Applies the safe repair of every current finding of `cluster`, like `Cluster: Run All Safe Repairs` (without its confirmation); `token` as for `repair`. */
  repairAllSafe(cluster: string, token?: CancellationToken, onProgress?: (p: RepairProgress) => void): Promise<ApplyRepairResult>;
}
